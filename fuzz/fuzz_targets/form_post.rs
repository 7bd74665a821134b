//! Fuzzes the forms engine: see `rathaus_fuzz::form_post`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rathaus_fuzz::form_post(data));
