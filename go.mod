module github.com/plinth-storage/plinth

go 1.26.8

require (
	github.com/google/uuid v1.6.0
	github.com/klauspost/reedsolomon v1.14.2
	github.com/minio/highwayhash v1.0.4
	github.com/ncw/directio v1.0.5
	golang.org/x/sys v0.49.0
	golang.org/x/time v0.16.0
)

require github.com/klauspost/cpuid/v2 v2.3.0 // indirect
