// Package stripe is the erasure code and the unit checksums of Plinth's
// stripes: pure computation, no device IO.
//
// A stripe is N data units followed by K parity units of Unit bytes each,
// member i of a segment set holding unit i (Layout). Codec computes the
// parity (Encode), checks it (Verify) and rebuilds members that are
// missing or corrupt (Reconstruct, ReconstructData, ReconstructSome),
// checking every present member against its expected sum first and every
// rebuilt member after: it returns verified data or an error wrapping
// ErrUnrecoverable, never wrong data. Sum is the checksum of one unit,
// bound to where the unit belongs (UnitID).
//
// # Limits
//
// N >= 1, K >= 0, N+K <= MaxMembers (32). The bound is far below the 256
// units GF(2^8) allows, and below the point where reedsolomon switches to
// a different code (Leopard GF16, above 256 units), so one code covers
// every layout. 32 keeps a set of member drives small next to a pool (an
// 84-slot enclosure), a stripe's buffers at most 32 × 4 MiB, a rebuild's
// read amplification (N units read per unit rebuilt) sane, member sets a
// uint32 bitmask, and the decode matrix (at most 31×31, inverted for each
// reconstruction since no cache of them is kept) cheap.
//
// Unit is a positive multiple of BlockSize (4096), the block of O_DIRECT
// IO and of the data log's per-block tags, and at most MaxUnit (4 MiB),
// the largest single write into a segment.
//
// # The code (format version 1)
//
// Reed-Solomon over GF(2^8) with the reducing polynomial
// x^8+x^4+x^3+x^2+1 (0x11D), generator 2. Byte j of every unit is one
// codeword: parity byte j of parity unit p is
//
//	P_p[j] = XOR over d < N of  M[p][d] · D_d[j]      (· in GF(2^8))
//
// with the K×N parity matrix M built as follows (this package builds it and
// hands it to reedsolomon with WithCustomMatrix): take the (N+K)×N
// Vandermonde matrix V[r][c] = r^c, the row index r read as a field element
// and 0^0 = 1; multiply it on the right by the inverse of its top N×N
// square, which makes the top the identity (data units are stored as
// they are); M is the K rows below. This is reedsolomon's default
// ("Backblaze") construction, so a plain reedsolomon.New(N, K) computes the
// same parity; a test checks it for every layout. Any N of the N+K
// units determine the rest (the code is MDS). Examples:
//
//	4+2: M = [ 27  28  18  20 ]      2+2: M = [ 3 2 ]
//	         [ 28  27  20  18 ]               [ 2 3 ]
//	6+1: M = [ 7 6 5 4 3 2 ]  (K = 1 is not a plain XOR)
//	1+2: M = [ 1 ] [ 1 ]      (N = 1 is a mirror: parity = data)
//
// Why the matrix is pinned here: the library has other constructions
// (WithCauchyMatrix, WithJerasureMatrix, WithPAR1Matrix,
// WithFastOneParityMatrix for K = 1, Leopard GF8/GF16) that give different
// parity for the same data, and switches to Leopard GF16 on its own above
// 256 units. None of them is reachable from here: the custom matrix takes
// precedence over the other matrix options, the Leopard options are never
// passed, and MaxMembers keeps clear of the automatic Leopard switch. What the library still owns is the field, whose
// polynomial every codec of this kind shares; the golden test
// (TestGoldenParity) pins the sha256 of the parity of several layouts, so a
// library upgrade that changed any byte of parity fails loudly, and
// TestSIMDPathsAgree checks that every instruction set the CPU offers
// computes the same bytes.
//
// # Unit sum (format version 1)
//
// Sum(unit, id) is HighwayHash-128 keyed with SumKey (the 32 ASCII bytes
// "plinth stripe unit checksum v1.!") of the 32-byte identity block
// followed by the unit's bytes. All integers are little endian:
//
//	offset size field
//	     0    8 UnitID.Set
//	     8    8 UnitID.Stripe
//	    16    8 UnitID.Generation: of the member segment the unit is in
//	    24    4 UnitID.Member: the unit's index in the stripe
//	    28    4 unit length in bytes
//	    32    n the unit
//
// The 16 bytes of the sum are HighwayHash-128's two 64-bit words, each
// little endian (what minio/highwayhash's Sum128 returns). Because the
// identity is hashed with the bytes, a unit checks only as the unit it was
// written as: one read from another member, another stripe or set
// (misdirected), or left from an earlier use of the segment (stale, an
// older generation), fails even when its bytes are intact and even when
// its stored sum travelled with it.
//
// # What never changes
//
// The field and its polynomial, the matrix construction, the order of
// units (data then parity, member i = unit i), SumKey, the identity
// block's layout, and HighwayHash-128 as the sum. A change to any of them
// is a new format version, with the old one kept for reading.
package stripe
