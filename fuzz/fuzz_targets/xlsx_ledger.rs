#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tuopin::fuzzing::xlsx_ledger(data));
