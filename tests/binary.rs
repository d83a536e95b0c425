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

#[test]
fn the_binary_is_static_and_position_independent() {
    let elf = std::fs::read(env!("CARGO_BIN_EXE_acr-health")).expect("the built binary");
    assert_eq!(&elf[..4], ELF_MAGIC);
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap());

    assert_eq!(
        u16_at(16),
        ET_DYN,
        "a position-independent executable (ASLR)"
    );
    let headers_at = usize::try_from(u64_at(32)).unwrap();
    let (header_size, headers) = (usize::from(u16_at(54)), usize::from(u16_at(56)));
    let segment_types: Vec<u32> = (0..headers)
        .map(|i| u32_at(headers_at + i * header_size))
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
