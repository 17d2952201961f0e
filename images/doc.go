// Package images builds, verifies and installs Plinth firmware bundles: the
// image builder that runs on a build host (Build), the check a node makes
// before it installs one (Verify), and the two firmware slots a node boots
// from with boot-once and rollback (Slots).
//
// # The bundle (format 1)
//
// A bundle is one file, an uncompressed POSIX ustar archive (archive/tar,
// FormatUSTAR: no PAX or GNU records), holding exactly four regular-file
// entries in this order and nothing else:
//
//	manifest.json  the manifest, canonical JSON (below)
//	manifest.sig   64 bytes: the ed25519 signature of manifest.json's exact bytes
//	kernel         the kernel image (a bzImage), as given to the builder
//	initramfs      the initramfs: a newc cpio archive compressed with gzip
//
// Every entry is one 512-byte ustar header followed by its data padded with
// zeros to a multiple of 512 bytes; two zero blocks end the archive. Header
// fields: name as above; mode 0000644; uid 0; gid 0; size; mtime = the
// build's SOURCE_DATE_EPOCH; typeflag '0'; magic "ustar\x00", version "00";
// uname, gname, linkname and prefix empty; devmajor and devminor 0. So the
// same inputs give the same bundle, byte for byte. A reader refuses any
// other entry, order, type or a signature that is not 64 bytes (ErrFormat),
// and a manifest over 1 MiB.
//
// # The manifest (manifest.json)
//
// A JSON object; canonical means every object's keys sorted, two-space
// indentation, no HTML escaping, one trailing newline. Its fields:
//
//	format           1
//	product          the compatible product, e.g. "plinth-storage-node": a node
//	                 installs only bundles of its own product
//	version          MAJOR.MINOR.PATCH (1 to 4 numeric parts, an optional
//	                 "-PRERELEASE"); compared numerically, part by part
//	min_update_from  the oldest version that may update to this one
//	build            {go_version, source_revision (omitted when unknown),
//	                 source_date_epoch}: nothing of the build host, so it
//	                 is reproducible
//	kernel           {version (e.g. "6.1.0-56-amd64"), cmdline (the default
//	                 kernel command line)}
//	parts            [{name, path, size, sha256 (lower-case hex)}]: first the
//	                 kernel (name "kernel", path "kernel"), then the
//	                 initramfs ("initramfs", "initramfs"), then every regular
//	                 file inside the initramfs in path order, with path
//	                 "initramfs:/PATH" and name "plinth" (/bin/plinth),
//	                 "modules.dep", "module-order" (/etc/plinth/modules),
//	                 "module:NAME" (a kernel module, NAME with '_' for '-')
//	                 or "file:/DST" (an extra file given to the builder)
//
// # The initramfs
//
// A newc cpio archive (magic "070701"; written by u-root's pkg/cpio) with the
// entries sorted by path (so a directory precedes its contents), names
// without a leading "/", inode numbers 1, 2, 3, ... in that order, uid and
// gid 0, mtime SOURCE_DATE_EPOCH, nlink 2 for directories and 1 otherwise,
// followed by the "TRAILER!!!" record. It is compressed with the standard
// library's gzip at the default level with an empty header (no name, no
// mtime, OS 255): the Debian kernel has CONFIG_RD_GZIP=y. It holds:
//
//	/init                     symlink to bin/plinth (the kernel runs /init;
//	                          plinth runs `plinth init` when argv[0] is init)
//	/bin/plinth               the static plinth binary, mode 0755
//	/dev /proc /sys /run /var/lib/plinth /etc/plinth   empty directories, 0755
//	/tmp                      empty directory, 01777
//	/dev/console              character device 5,1, mode 0600: the kernel opens
//	                          it for init before anything mounts devtmpfs
//	/lib/modules/KVER/...     the requested modules and their dependencies
//	                          (from modules.dep), uncompressed, at their
//	                          modules.dep paths without a .xz/.zst/.gz suffix
//	/lib/modules/KVER/modules.dep   modules.dep restricted to those modules
//	/etc/plinth/modules       the load order (below)
//	extra files               from the builder's --file SRC:DST[:MODE]
//
// Every directory leading to a file is an entry of its own (the kernel does
// not create missing parents).
//
// /etc/plinth/modules has one line per module to load, dependencies before
// the modules that need them:
//
//	/lib/modules/KVER/kernel/drivers/scsi/scsi_debug.ko zbc=host-managed dev_size_mb=256
//
// the module's absolute path in the initramfs, then its parameters, each
// NAME or NAME=VALUE without white space, separated by single spaces. A
// module given as NoAutoload (scsi_debug by default: loading it makes fake
// disks) is in the initramfs but not in this list unless asked for.
//
// # Keys
//
// ed25519 keys are PEM files: the private key a "PRIVATE KEY" block (PKCS #8,
// mode 0600), the public key a "PUBLIC KEY" block (PKIX), as openssl writes
// them (`openssl pkey -in KEY -pubout` gives the public key of a private one).
//
// # Slots
//
// A node boots from one of two slots, "a" and "b", each holding an
// installed bundle's manifest.json, manifest.sig, kernel and initramfs. A
// state (JSON) says which is active, which to boot once (next_once), which is
// being tried, and which are known good. See slots.go; in a directory (the
// test and development store, DirStore):
//
//	DIR/state.json     the state, replaced atomically (write, fsync, rename)
//	DIR/a/, DIR/b/     the slots: manifest.json manifest.sig kernel initramfs
//	DIR/lock           flock'ed while the state or a slot changes
//	DIR/a.new, DIR/a.old, DIR/state.json.tmp   leftovers of an install or a
//	                   state write cut short; ignored, removed by the next one
package images
