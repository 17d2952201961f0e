// Package objects is the node's object store: buckets of objects, each
// object a key's content (any size, streamed), its content type, user
// metadata and ETag, with DTM0 versions: every write carries a version
// (given by the client or assigned by the node's hybrid logical clock), an
// older version never overwrites a newer one, and a delete leaves a
// tombstone that beats a write of the same or an older version, so
// replaying an operation changes nothing. Tombstones older than a horizon
// are collected.
//
// A bucket lives in one pool (chosen when it is created: round-robin, most
// free space or healthiest); its objects are that pool's owners
//
//	"o/" + bucket + "/" + key
//
// so the pool's index (package pool) holds their versions, extents and
// tombstones, and its ordered heads are the bucket listing. Bucket names
// cannot contain "/", so no two (bucket, key) pairs share an owner.
//
// # Buckets tree
//
// The metadata tree "objects/buckets" maps a bucket's name to (version 1;
// integers big endian):
//
//	offset size field
//	     0    1 version (1)
//	     1    8 creation time, Unix nanoseconds
//	     9    1 pool name length P (1..255)
//	    10    P pool name
//
// # Object attributes (the pool head's attributes, version 1)
//
// uv is an unsigned LEB128 varint; strings are a uv length and the bytes.
//
//	offset size field
//	     0    1 version (1)
//	     1   16 ETag: HighwayHash-128 (ETagKey) of the content
//	    17    8 modification time, Unix nanoseconds
//	    25    * content type (string)
//	     *    * uv number of user metadata pairs, then each: name, value
//	            (strings; names lower case, sorted, distinct)
//
// The ETag is not an MD5 (S3 clients must not assume one): HighwayHash
// costs a tenth of the CPU, which a 2-core node needs for the drives.
package objects
