module github.com/plinth-storage/plinth

go 1.26.8

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/ncw/directio v1.0.5 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
