//! How the binary is linked (`.cargo/config.toml`): on glibc Linux, one static-pie executable,
//! which starts without loading a shared library and keeps address-space randomization, and
//! packs its relocations when glibc applies them (build.rs).
#![cfg(all(
    target_os = "linux",
    target_env = "gnu",
    target_pointer_width = "64",
    target_endian = "little"
))]

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const ET_DYN: u16 = 3;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;

/// `len` bytes of `file` from `offset`.
fn read_at(file: &mut std::fs::File, offset: u64, len: usize) -> Vec<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let mut bytes = vec![0; len];
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.read_exact(&mut bytes).unwrap();
    bytes
}

/// The ELF header and the program headers (type, file offset, size in the file) of the built
/// binary; only these, as the debug binary is over 100 MB.
fn headers() -> (std::fs::File, Vec<u8>, Vec<(u32, u64, u64)>) {
    let mut file = std::fs::File::open(env!("CARGO_BIN_EXE_acr-health")).expect("the built binary");
    let header = read_at(&mut file, 0, 64);
    assert_eq!(&header[..4], ELF_MAGIC);
    let (header_size, count) = (
        usize::from(u16_at(&header, 54)),
        usize::from(u16_at(&header, 56)),
    );
    let table = read_at(&mut file, u64_at(&header, 32), header_size * count);
    let segments = table
        .chunks_exact(header_size)
        .map(|entry| {
            let kind = u32::from_le_bytes(entry[..4].try_into().unwrap());
            (kind, u64_at(entry, 8), u64_at(entry, 32))
        })
        .collect();
    (file, header, segments)
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[test]
fn the_binary_is_static_and_position_independent() {
    let (_, header, segments) = headers();
    assert_eq!(
        u16_at(&header, 16),
        ET_DYN,
        "a position-independent executable (ASLR)"
    );
    let types: Vec<u32> = segments.iter().map(|(kind, _, _)| *kind).collect();
    assert!(
        !types.contains(&PT_INTERP),
        "no dynamic loader is named: the executable is linked statically"
    );
    assert!(
        types.contains(&PT_DYNAMIC),
        "a static-pie executable relocates itself from its dynamic section"
    );
}

/// build.rs packs the relocations (DT_RELR) when the glibc linked in applies them: 2.36 or newer.
/// This test is linked with the same glibc, so it asks its own.
#[test]
fn relocations_are_packed_when_glibc_applies_them() {
    const DT_NULL: u64 = 0;
    const DT_RELR: u64 = 36;
    // SAFETY: gnu_get_libc_version returns a static NUL-terminated string, such as "2.36".
    let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    let numbers: Vec<u32> = version
        .to_str()
        .unwrap()
        .split('.')
        .map_while(|part| part.parse().ok())
        .collect();
    let applies_relr = (numbers[0], numbers[1]) >= (2, 36);

    let (mut file, _, segments) = headers();
    let &(_, offset, size) = segments
        .iter()
        .find(|(kind, _, _)| *kind == PT_DYNAMIC)
        .expect("a dynamic section");
    let dynamic = read_at(&mut file, offset, usize::try_from(size).unwrap());
    let tags: Vec<u64> = dynamic
        .chunks_exact(16)
        .map(|entry| u64_at(entry, 0))
        .take_while(|tag| *tag != DT_NULL)
        .collect();
    assert_eq!(
        tags.contains(&DT_RELR),
        applies_relr,
        "glibc {version:?}: packed relocations where it applies them, none where it does not"
    );
}
