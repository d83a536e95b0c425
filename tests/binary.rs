//! How the binary is linked (`.cargo/config.toml`): on glibc Linux, one static-pie executable,
//! which starts without loading a shared library and keeps address-space randomization.
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

#[test]
fn the_binary_is_static_and_position_independent() {
    // Only the ELF header and the program headers: the debug binary is over 100 MB.
    let mut file = std::fs::File::open(env!("CARGO_BIN_EXE_acr-health")).expect("the built binary");
    let header = read_at(&mut file, 0, 64);
    assert_eq!(&header[..4], ELF_MAGIC);
    let u16_at = |bytes: &[u8], at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u64_at =
        |bytes: &[u8], at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());

    assert_eq!(
        u16_at(&header, 16),
        ET_DYN,
        "a position-independent executable (ASLR)"
    );
    let (header_size, headers) = (
        usize::from(u16_at(&header, 54)),
        usize::from(u16_at(&header, 56)),
    );
    let table = read_at(&mut file, u64_at(&header, 32), header_size * headers);
    let segment_types: Vec<u32> = table
        .chunks_exact(header_size)
        .map(|entry| u32::from_le_bytes(entry[..4].try_into().unwrap()))
        .collect();
    assert!(
        !segment_types.contains(&PT_INTERP),
        "no dynamic loader is named: the executable is linked statically"
    );
    assert!(
        segment_types.contains(&PT_DYNAMIC),
        "a static-pie executable relocates itself from its dynamic section"
    );
}
