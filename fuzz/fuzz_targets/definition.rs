//! Fuzzes the forms engine: see `rathaus_fuzz::definition`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rathaus_fuzz::definition(data));
