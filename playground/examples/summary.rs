//! The playground's summary of one log file, exactly as the page shows it
//! (same core, called natively): `cargo run --example summary -- [--node NODE] FILE`.
//! tests/playground.rs compares it with `selfscrape replay`'s.

use selfscrape_playground::{Session, expand_document, time};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut node, mut file) = (String::new(), None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--node" => node = args.next().unwrap_or_default(),
            _ => file = Some(a),
        }
    }
    let Some(file) = file else {
        eprintln!("usage: summary [--node NODE] FILE");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("summary: cannot read {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The year the page takes from the browser's clock.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let year = time::year_of(
        i64::try_from(now)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000),
    );
    let text = expand_document(&text).unwrap_or(text);
    let mut session = Session::new(&node, year, 0.5);
    session.feed(&text);
    session.finish();
    print!("{}", session.summary_text());
    ExitCode::SUCCESS
}
