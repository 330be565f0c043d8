//! The module's per-call logic and allocator, driven natively the way Fluent
//! Bit drives the module (proxy-wasm-rust-sdk style: the host is mocked).
//! The same checks run on the built module through WAMR in tests/host.rs and
//! tests/corpus_wasm.rs.
use selfscrape_rule::guest::{
    Export, Guest, HostRecord, MSGPACK_PLACEHOLDER, Reply, UNREADABLE_JSON,
};

const OWN: &str = "fargate-ip-10-1-2-3.eu-west-2.compute.internal";

fn own_refusal() -> String {
    let line = format!(
        r#"E0912 01:02:03.456789       1 scraper.go:140] "Failed to scrape node" err="Get \"https://10.1.2.3:10250/metrics/resource\": dial tcp 10.1.2.3:10250: connect: connection refused" node="{OWN}""#
    );
    format!(
        r#"{{"log":{},"kubernetes":{{"host":"{OWN}"}}}}"#,
        serde_json::to_string(&line).unwrap()
    )
}

/// How a host may treat its input copies.
#[derive(Clone, Copy, Debug)]
enum Frees {
    AfterCall,
    Never,
}

/// One call as Fluent Bit makes it: copy tag and record in with the module's
/// malloc (NUL-terminated), call, read the reply, maybe free.
fn host_call(guest: &mut Guest, export: Export, record: &[u8], frees: Frees) -> Vec<u8> {
    let tag = b"kube.var.log.containers.metrics-server\0";
    let tag_ptr = guest.malloc(tag.len());
    let rec_ptr = guest.malloc(record.len() + 1);
    // SAFETY: malloc returned room for these many bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(tag.as_ptr(), tag_ptr, tag.len());
        std::ptr::copy_nonoverlapping(record.as_ptr(), rec_ptr, record.len());
        *rec_ptr.add(record.len()) = 0;
    }
    guest.begin_call();
    // SAFETY: the copy above is alive until the next malloc.
    let bytes = unsafe { std::slice::from_raw_parts(rec_ptr, record.len()) };
    let reply = match guest.call(
        export,
        HostRecord::Bytes {
            bytes,
            terminated: true,
        },
    ) {
        Reply::Input => bytes.to_vec(),
        Reply::Empty => Vec::new(),
        Reply::Buffer => {
            let b = guest.buffer();
            b[..b.iter().position(|&c| c == 0).expect("NUL-terminated")].to_vec()
        }
    };
    if let Frees::AfterCall = frees {
        guest.free(tag_ptr);
        guest.free(rec_ptr);
    }
    reply
}

#[test]
fn drop_keep_and_mark() {
    let mut g = Guest::new();
    let drop = own_refusal();
    let keep = r#"{"log":"I0912 ordinary line","kubernetes":{"host":"x"}}"#;
    assert_eq!(
        host_call(&mut g, Export::Drop, drop.as_bytes(), Frees::AfterCall),
        b""
    );
    assert_eq!(
        host_call(&mut g, Export::Drop, keep.as_bytes(), Frees::AfterCall),
        keep.as_bytes()
    );
    let marked = host_call(&mut g, Export::Mark, drop.as_bytes(), Frees::AfterCall);
    let mut want: serde_json::Value = serde_json::from_str(&drop).unwrap();
    want["self_scrape"] = serde_json::Value::Bool(true);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&marked).unwrap(),
        want
    );
    assert!(
        marked.starts_with(&drop.as_bytes()[..drop.len() - 1]),
        "input bytes kept, key appended"
    );
    assert_eq!(
        host_call(&mut g, Export::Mark, keep.as_bytes(), Frees::AfterCall),
        keep.as_bytes()
    );
    let explained = host_call(&mut g, Export::Explain, drop.as_bytes(), Frees::AfterCall);
    assert_eq!(
        String::from_utf8(explained).unwrap(),
        format!(r#"{{"verdict":"drop","reason":"own_node_refused","node":"{OWN}"}}"#)
    );
}

#[test]
fn records_that_are_not_json_objects_come_back_intact() {
    let mut g = Guest::new();
    // msgpack without 0x00: returned as a NUL-terminated copy, same bytes.
    let clean = b"\x81\xa3log\xa5hello";
    g.begin_call();
    assert_eq!(
        g.call(
            Export::Drop,
            HostRecord::Bytes {
                bytes: clean,
                terminated: false
            }
        ),
        Reply::Buffer
    );
    assert_eq!(g.buffer(), b"\x81\xa3log\xa5hello\0");
    // msgpack with 0x00 (the integer 0): any reply is cut at the 0x00, so it
    // is replaced by a valid msgpack map that says why.
    let zero = b"\x82\xa3log\xa5hello\xa1n\x00";
    g.begin_call();
    assert_eq!(
        g.call(
            Export::Drop,
            HostRecord::Bytes {
                bytes: zero,
                terminated: false
            }
        ),
        Reply::Buffer
    );
    assert_eq!(&g.buffer()[..g.buffer().len() - 1], MSGPACK_PLACEHOLDER);
    assert!(!MSGPACK_PLACEHOLDER.contains(&0));
    // Nothing to read: a JSON object that says so instead of an empty reply.
    g.begin_call();
    assert_eq!(g.call(Export::Drop, HostRecord::Unreadable), Reply::Buffer);
    assert_eq!(&g.buffer()[..g.buffer().len() - 1], UNREADABLE_JSON);
    serde_json::from_slice::<serde_json::Value>(UNREADABLE_JSON).unwrap();
    // Text that is not JSON at all, NUL-terminated: the input itself.
    g.begin_call();
    assert_eq!(
        g.call(
            Export::Drop,
            HostRecord::Bytes {
                bytes: b"plain",
                terminated: true
            }
        ),
        Reply::Input
    );
}

#[test]
fn the_placeholder_is_the_msgpack_it_claims_to_be() {
    // fixmap(1), fixstr(16) key, str8 value whose length byte matches.
    let p = MSGPACK_PLACEHOLDER;
    assert_eq!(p[0], 0x81);
    assert_eq!(p[1], 0xa0 | 16);
    assert_eq!(&p[2..18], b"selfscrape_error");
    assert_eq!(p[18], 0xd9);
    assert_eq!(usize::from(p[19]), p.len() - 20);
}

#[test]
fn memory_stays_bounded_whatever_the_host_frees() {
    let records = [
        own_refusal(),
        r#"{"log":"ordinary","kubernetes":{"host":"x"}}"#.to_string(),
        format!(r#"{{"log":"{}"}}"#, "y".repeat(20_000)),
    ];
    for frees in [Frees::AfterCall, Frees::Never] {
        let mut g = Guest::new();
        for i in 0..300 {
            for export in [Export::Drop, Export::Mark, Export::Explain] {
                host_call(&mut g, export, records[i % 3].as_bytes(), frees);
            }
        }
        let warm = (g.arena_bytes(), g.buffer_capacity());
        for i in 0..30_000 {
            for export in [Export::Drop, Export::Mark, Export::Explain] {
                host_call(&mut g, export, records[i % 3].as_bytes(), frees);
            }
        }
        assert_eq!((g.arena_bytes(), g.buffer_capacity()), warm, "{frees:?}");
        // The arena holds about one call's copies, not a history of them.
        assert!(
            warm.0 < 2 * 20_100 + 4096,
            "{frees:?}: arena {} bytes",
            warm.0
        );
    }
}

#[test]
fn a_call_that_never_returned_does_not_leak_its_copies() {
    // From Fluent Bit 4.1 the instance lives on after a trap: the call began,
    // never finished, and the host may never free its copies.
    let mut g = Guest::new();
    for _ in 0..1000 {
        let _tag = g.malloc(40);
        let _rec = g.malloc(5000);
        g.begin_call();
        // (trap here: no reply, no free)
    }
    assert!(
        g.arena_bytes() < 2 * 5048,
        "arena {} bytes",
        g.arena_bytes()
    );
}

#[test]
fn copies_stay_valid_until_the_next_call_begins() {
    let mut g = Guest::new();
    let a = g.malloc(100);
    // SAFETY: 100 bytes from malloc.
    unsafe { std::ptr::write_bytes(a, 0xAB, 100) };
    let b = g.malloc(1_000_000); // does not fit the (empty) arena: an overflow chunk
    // SAFETY: as above.
    unsafe { std::ptr::write_bytes(b, 0xCD, 1_000_000) };
    // SAFETY: both still allocated: no call has begun since.
    unsafe {
        assert!(
            std::slice::from_raw_parts(a, 100)
                .iter()
                .all(|&x| x == 0xAB)
        );
        assert!(
            std::slice::from_raw_parts(b, 1_000_000)
                .iter()
                .all(|&x| x == 0xCD)
        );
    }
    assert_eq!(a as usize % 8, 0);
    assert_eq!(b as usize % 8, 0);
}
