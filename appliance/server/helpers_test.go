package server

import "github.com/plinth-storage/plinth/appliance/objects"

func objectsPut() objects.PutOptions { return objects.PutOptions{Size: -1} }
