//! Fuzzes the forms engine's expression language: parse, check against a small scope, evaluate.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rathaus_fuzz::expr(data));
