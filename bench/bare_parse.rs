//! The floor for `tuopin assess`: read every record of a CSV with the csv crate on one thread and
//! touch every field, nothing else (no header mapping, no cell parsing, no output).
//! usage: cargo run --release --example bare_parse -- FILE

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: bare_parse FILE")?;
    let mut r = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_path(path)?;
    let mut rec = csv::ByteRecord::new();
    let (mut rows, mut bytes) = (0u64, 0u64);
    while r.read_byte_record(&mut rec)? {
        rows += 1;
        bytes += rec.iter().map(|f| f.len() as u64).sum::<u64>();
    }
    eprintln!("{rows} rows, {bytes} field bytes");
    Ok(())
}
