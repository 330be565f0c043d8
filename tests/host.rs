//! The WAMR host behaves like Fluent Bit's filter_wasm, proved with tiny
//! purpose-built modules (tests/fixtures/host/*.wat) and one smoke test of the
//! real module.
use crate::common;

use selfscrape_host::{
    FLUENT_BIT_MIN_SIZE, Host, HostConfig, HostError, HostFrees, Loss, Outcome, Verdict,
};
use selfscrape_replay::fluent_bit_json;
use serde_json::json;
use std::path::Path;

/// This thread's Rust heap allocations so far (crate::allocations).
fn allocations() -> u64 {
    crate::allocations::this_thread()
}

const TAG: &str = "kube.var.log.containers.x";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/host")
        .join(name);
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn host(name: &str, config: HostConfig) -> Host {
    Host::new(&fixture(name), config).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A JSON object record of exactly `len` bytes: {"pad":"xxx..."}.
fn record_of_len(len: usize) -> Vec<u8> {
    let overhead = br#"{"pad":""}"#.len();
    assert!(len >= overhead);
    let mut r = br#"{"pad":""#.to_vec();
    r.extend(std::iter::repeat_n(b'x', len - overhead));
    r.extend_from_slice(br#""}"#);
    assert_eq!(r.len(), len);
    r
}

fn keep(outcome: Outcome) -> Vec<u8> {
    match outcome {
        Outcome::Keep(reply) => reply,
        other => panic!("expected Keep, got {other:?}"),
    }
}

fn lost(outcome: Outcome) -> Loss {
    match outcome {
        Outcome::Lost(loss) => loss,
        other => panic!("expected Lost, got {other:?}"),
    }
}

#[test]
fn default_config_is_fluent_bits() {
    let c = HostConfig::default();
    assert_eq!((c.stack_size, c.heap_size), (8192, 8192));
    assert_eq!(c.host_frees, HostFrees::AfterEachCall);
    assert_eq!(c.instance_per_batch, None);
    // Smaller settings are raised to 8192, as flb_wasm_instantiate does...
    let small = HostConfig {
        stack_size: 1024,
        heap_size: 100,
        ..HostConfig::default()
    };
    let h = host("recurse.wat", small);
    assert_eq!(h.config().stack_size, FLUENT_BIT_MIN_SIZE);
    assert_eq!(h.config().heap_size, FLUENT_BIT_MIN_SIZE);
    // ...except the test-only exact stack.
    assert_eq!(HostConfig::unclamped_stack(512).effective().stack_size, 512);
}

#[test]
fn stack_overflow_loses_the_record_and_the_instance_lives_on() {
    let mut h = host("recurse.wat", HostConfig::default());
    let small = record_of_len(16);
    let deep = record_of_len(400);
    assert_eq!(keep(h.filter_json("deep", TAG, 1, 2, &small)), small);

    let loss = lost(h.filter_json("deep", TAG, 1, 2, &deep));
    assert_eq!(
        loss,
        Loss::Trap("Exception: wasm operand stack overflow".into())
    );
    assert_eq!(
        loss.to_string(),
        "Got exception running wasm code: Exception: wasm operand stack overflow"
    );
    // The exception was cleared and the instance kept (Fluent Bit >= 4.1).
    assert_eq!(keep(h.filter_json("deep", TAG, 1, 2, &small)), small);
    assert_eq!(h.stats().traps, 1);
    assert_eq!(h.stats().instances_created, 1);

    // The same record passes with wasm_stack_size raised.
    let mut big = host(
        "recurse.wat",
        HostConfig {
            stack_size: 64 * 1024,
            ..HostConfig::default()
        },
    );
    assert_eq!(keep(big.filter_json("deep", TAG, 1, 2, &deep)), deep);

    // And a forced tiny stack traps even on the small record.
    let mut tiny = host("recurse.wat", HostConfig::unclamped_stack(256));
    assert!(matches!(
        lost(tiny.filter_json("deep", TAG, 1, 2, &small)),
        Loss::Trap(_)
    ));
}

#[test]
fn big_record_without_guest_allocator_reaches_the_guest_as_null() {
    let mut h = host("no_alloc.wat", HostConfig::default());
    let small = record_of_len(100);
    let big = record_of_len(20_016); // 20017 bytes with the NUL, as measured
    assert_eq!(keep(h.filter_json("echo", TAG, 0, 0, &small)), small);
    assert_eq!(h.stats().alloc_failures, 0);

    // The copy does not fit the 8 KiB app heap: offset 0, real length.
    assert_eq!(
        keep(h.filter_json("null_probe", TAG, 0, 0, &big)),
        br#"{"rec_is_null":true}"#
    );
    assert_eq!(h.stats().alloc_failures, 1);
    // A guest that parses the record traps on it...
    assert!(matches!(
        lost(h.filter_json("strict", TAG, 0, 0, &big)),
        Loss::Trap(_)
    ));
    // ...and one that echoes it returns offset 0, where linear memory holds
    // "": Fluent Bit drops the record silently.
    assert_eq!(h.filter_json("echo", TAG, 0, 0, &big), Outcome::Drop);
    assert_eq!(h.stats().alloc_failures, 3);
    // Every smaller record still passes.
    assert_eq!(keep(h.filter_json("strict", TAG, 0, 0, &small)), small);

    // A bigger app heap (wasm_heap_size) lets it through.
    let mut roomy = host(
        "no_alloc.wat",
        HostConfig {
            heap_size: 64 * 1024,
            ..HostConfig::default()
        },
    );
    assert_eq!(keep(roomy.filter_json("strict", TAG, 0, 0, &big)), big);

    // Where WAMR puts the app heap depends on the module: without
    // __heap_base it appends whole pages (64 KiB - 1 KiB), so the same record
    // fits with the same 8 KiB setting.
    let mut plain = host("plain_growable.wat", HostConfig::default());
    assert_eq!(keep(plain.filter_json("echo", TAG, 0, 0, &big)), big);
    assert_eq!(plain.stats().alloc_failures, 0);
}

#[test]
fn big_record_with_guest_allocator_passes_intact() {
    let mut h = host("counting_alloc.wat", HostConfig::default());
    let big = record_of_len(20_016);
    assert_eq!(
        keep(h.filter_json("null_probe", TAG, 0, 0, &big)),
        br#"{"rec_is_null":false}"#
    );
    assert_eq!(keep(h.filter_json("strict", TAG, 0, 0, &big)), big);
    assert_eq!(keep(h.filter_json("echo", TAG, 0, 0, &big)), big);
    assert_eq!(h.stats().alloc_failures, 0);
}

#[test]
fn empty_reply_drops_the_record() {
    let mut h = host("replies.wat", HostConfig::default());
    assert_eq!(h.filter_json("empty", TAG, 0, 0, b"{}"), Outcome::Drop);
    assert_eq!(h.stats().dropped, 1);
    // call_raw shows the reply itself.
    assert_eq!(h.call_raw("empty", TAG, 0, 0, b"{}", true), Ok(Vec::new()));
}

#[test]
fn invalid_return_offset_loses_the_record_and_poisons_the_next_call() {
    for function in ["dangling", "unterminated"] {
        let mut h = host("replies.wat", HostConfig::default());
        let loss = lost(h.filter_json(function, TAG, 0, 0, b"{\"a\":1}"));
        assert_eq!(loss, Loss::InvalidReturn, "{function}");
        assert_eq!(loss.to_string(), "[wasm] returned value is invalid");
        assert_eq!(h.stats().invalid_returns, 1);
        // WAMR's validation set "out of bounds memory access" and Fluent Bit
        // does not clear it: the next call runs but reports that exception.
        assert_eq!(
            lost(h.filter_json("echo", TAG, 0, 0, b"{\"b\":2}")),
            Loss::Trap("Exception: out of bounds memory access".into()),
            "{function}"
        );
        // That report cleared it; the call after is fine.
        assert_eq!(
            keep(h.filter_json("echo", TAG, 0, 0, b"{\"c\":3}")),
            b"{\"c\":3}"
        );
    }
}

#[test]
fn pending_exception_also_fails_the_guest_allocator() {
    // With a guest malloc, the pending "out of bounds memory access" makes
    // WAMR report the next record's two mallocs as failed although the guest
    // allocated: the guest runs with two null pointers, the record is lost,
    // and the two allocations leak in guest memory.
    let mut h = host("counting_alloc.wat", HostConfig::default());
    assert_eq!(counts(&mut h), json!({"mallocs": 2, "frees": 0}));
    assert_eq!(
        lost(h.filter_json("dangling", TAG, 0, 0, b"{}")),
        Loss::InvalidReturn
    );
    assert_eq!(
        lost(h.filter_json("null_probe", TAG, 0, 0, b"{}")),
        Loss::Trap("Exception: out of bounds memory access".into())
    );
    assert_eq!(h.stats().alloc_failures, 2);
    // counts, dangling (copies freed after the failed validation: the guest's
    // free still runs), the poisoned call (allocated, never freed), counts.
    assert_eq!(counts(&mut h), json!({"mallocs": 8, "frees": 4}));
}

#[test]
fn trap_once_then_recover() {
    let mut h = host("replies.wat", HostConfig::default());
    let loss = lost(h.filter_json("trap_once", TAG, 0, 0, b"{\"n\":1}"));
    assert_eq!(loss, Loss::Trap("Exception: unreachable".into()));
    assert_eq!(
        keep(h.filter_json("trap_once", TAG, 0, 0, b"{\"n\":2}")),
        b"{\"n\":2}"
    );
    assert_eq!(
        keep(h.filter_json("trap_once", TAG, 0, 0, b"{\"n\":3}")),
        b"{\"n\":3}"
    );
    assert_eq!(h.stats().traps, 1);
    assert_eq!(h.stats().kept, 2);
}

#[test]
fn non_json_and_non_object_replies_are_lost_with_fluent_bits_message() {
    let mut h = host("replies.wat", HostConfig::default());
    let text = lost(h.filter_json("text", TAG, 0, 0, b"{}"));
    assert_eq!(text.to_string(), "invalid JSON format. ret: -1, buf: hello");
    let array = lost(h.filter_json("array", TAG, 0, 0, b"{}"));
    assert_eq!(array.to_string(), "invalid JSON format. ret: 0, buf: [1,2]");
    assert_eq!(
        keep(h.filter_json("object", TAG, 0, 0, b"{}")),
        br#"{"a":1}"#
    );
    assert_eq!(h.stats().invalid_json, 2);
    // call_raw returns the text unclassified.
    assert_eq!(
        h.call_raw("text", TAG, 0, 0, b"{}", true),
        Ok(b"hello".to_vec())
    );
}

#[test]
fn missing_function_loses_every_record() {
    let mut h = host("replies.wat", HostConfig::default());
    assert!(h.has_function("echo"));
    assert!(!h.has_function("nope"));
    for _ in 0..2 {
        let loss = lost(h.filter_json("nope", TAG, 0, 0, b"{}"));
        assert_eq!(loss, Loss::FunctionNotFound("nope".into()));
        assert_eq!(loss.to_string(), "The nope wasm function is not found.");
    }
    assert!(matches!(
        h.filter_json("bad\0name", TAG, 0, 0, b"{}"),
        Outcome::Lost(Loss::FunctionNotFound(_))
    ));
    assert_eq!(h.stats().functions_not_found, 3);
    assert_eq!(keep(h.filter_json("echo", TAG, 0, 0, b"{}")), b"{}");
}

#[test]
fn reference_types_fail_to_load_like_fluent_bit_2_0_to_4_0_2() {
    let err = Host::new(&fixture("reftypes.wat"), HostConfig::default())
        .err()
        .expect("a reference-types module must not load");
    match &err {
        HostError::Load(msg) => assert!(!msg.is_empty()),
        other => panic!("expected a load error, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("Load wasm module failed. error: "),
        "{err}"
    );
    assert_eq!(
        Host::new(b"not wasm at all", HostConfig::default()).err(),
        Some(HostError::NotWasm)
    );
}

/// `counts` reports {"mallocs":M,"frees":F}; its own call's two copies are
/// allocated and not yet freed when it runs.
fn counts(h: &mut Host) -> serde_json::Value {
    let reply = keep(h.filter_json("counts", TAG, 0, 0, b"{}"));
    serde_json::from_slice(&reply).unwrap()
}

#[test]
fn host_frees_after_each_call_or_never() {
    let record = record_of_len(64);
    let mut freeing = host("counting_alloc.wat", HostConfig::default());
    let mut leaking = host(
        "counting_alloc.wat",
        HostConfig {
            host_frees: HostFrees::Never,
            ..HostConfig::default()
        },
    );
    for h in [&mut freeing, &mut leaking] {
        for _ in 0..5 {
            assert_eq!(keep(h.filter_json("echo", TAG, 0, 0, &record)), record);
        }
    }
    assert_eq!(counts(&mut freeing), json!({"mallocs": 12, "frees": 10}));
    assert_eq!(counts(&mut leaking), json!({"mallocs": 12, "frees": 0}));
    // A trap frees too (4.1.2+), but not in 4.1.0/4.1.1.
    let bad = b"not json";
    assert!(matches!(
        freeing.filter_json("strict", TAG, 0, 0, bad),
        Outcome::Lost(Loss::Trap(_))
    ));
    assert!(matches!(
        leaking.filter_json("strict", TAG, 0, 0, bad),
        Outcome::Lost(Loss::Trap(_))
    ));
    assert_eq!(counts(&mut freeing), json!({"mallocs": 16, "frees": 14}));
    assert_eq!(counts(&mut leaking), json!({"mallocs": 16, "frees": 0}));
    // 4.1.0/4.1.1 copy before looking the function up: a missing function
    // still allocates there.
    let _ = freeing.filter_json("nope", TAG, 0, 0, &record);
    let _ = leaking.filter_json("nope", TAG, 0, 0, &record);
    assert_eq!(counts(&mut freeing), json!({"mallocs": 18, "frees": 16}));
    assert_eq!(counts(&mut leaking), json!({"mallocs": 20, "frees": 0}));
}

#[test]
fn instance_per_batch_starts_fresh_every_n_records() {
    let record = record_of_len(64);
    let mut h = host(
        "counting_alloc.wat",
        HostConfig {
            instance_per_batch: Some(3),
            ..HostConfig::default()
        },
    );
    assert_eq!(h.stats().instances_created, 1);
    keep(h.filter_json("echo", TAG, 0, 0, &record));
    keep(h.filter_json("echo", TAG, 0, 0, &record));
    // Third record of batch 1: copies never freed within the batch.
    assert_eq!(counts(&mut h), json!({"mallocs": 6, "frees": 0}));
    assert_eq!(h.stats().instances_created, 1);
    // First record of batch 2: a fresh instance, fresh counters.
    assert_eq!(counts(&mut h), json!({"mallocs": 2, "frees": 0}));
    assert_eq!(h.stats().instances_created, 2);

    // A trap's state dies with its batch too.
    let mut t = host(
        "replies.wat",
        HostConfig {
            instance_per_batch: Some(2),
            ..HostConfig::default()
        },
    );
    assert!(matches!(
        t.filter_json("trap_once", TAG, 0, 0, b"{}"),
        Outcome::Lost(Loss::Trap(_))
    ));
    keep(t.filter_json("trap_once", TAG, 0, 0, b"{}"));
    // New batch, new instance: it traps again on its first call.
    assert!(matches!(
        t.filter_json("trap_once", TAG, 0, 0, b"{}"),
        Outcome::Lost(Loss::Trap(_))
    ));
    assert_eq!(t.stats().instances_created, 2);
}

#[test]
fn memory_pages_track_guest_growth() {
    let mut h = host("counting_alloc.wat", HostConfig::default());
    let before = h.memory_pages();
    assert!(before >= 2);
    let big = record_of_len(200_000);
    keep(h.filter_json("echo", TAG, 0, 0, &big));
    assert!(
        h.memory_pages() >= before + 3,
        "{} -> {}",
        before,
        h.memory_pages()
    );
}

#[test]
fn msgpack_mode_passes_the_record_without_nul() {
    let mut h = host("counting_alloc.wat", HostConfig::default());
    // msgpack of {"a":1}: copied with its exact length and no NUL. The bump
    // allocator's fresh memory after it is zero, so the echo reply (read up
    // to the first NUL) is exactly the record here.
    let msgpack = b"\x81\xa1a\x01";
    assert_eq!(
        h.call_raw("echo", TAG, 0, 0, msgpack, false),
        Ok(msgpack.to_vec())
    );
    // With a NUL inside, the reply stops there: msgpack mode truncation.
    let with_zero = b"\x81\xa1a\x00";
    assert_eq!(
        h.call_raw("echo", TAG, 0, 0, with_zero, false),
        Ok(b"\x81\xa1a".to_vec())
    );
}

#[test]
fn filter_json_into_reuses_the_buffer() {
    let mut h = host("replies.wat", HostConfig::default());
    let mut reply = Vec::with_capacity(64);
    assert_eq!(
        h.filter_json_into("echo", TAG, 0, 0, b"{\"x\":1}", &mut reply),
        Verdict::Keep
    );
    assert_eq!(reply, b"{\"x\":1}");
    assert_eq!(
        h.filter_json_into("empty", TAG, 0, 0, b"{}", &mut reply),
        Verdict::Drop
    );
    assert!(reply.is_empty());
}

#[test]
fn filter_object_into_classifies_as_filter_json_into() {
    // The same sequence of calls on two hosts, one through each entry
    // point: the same verdicts, replies and counters after every call
    // (including the pending exception a failed return validation leaves
    // for the next call, and a trap).
    let long = fluent_bit_json(&json!({"log": "x".repeat(3000), "kubernetes": {"host": "n"}}));
    let records: [&[u8]; 4] = [b"{\"x\":1}", b"{\"a\":1}", b"{}", &long];
    let functions = [
        "echo",
        "empty",
        "text",
        "array",
        "object",
        "dangling",
        "echo",
        "unterminated",
        "trap_once",
        "echo",
        "no_such_export",
    ];
    let mut plain = host("replies.wat", HostConfig::default());
    let mut object = host("replies.wat", HostConfig::default());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut kept_unchanged = 0;
    for function in functions {
        for record in records {
            let va = plain.filter_json_into(function, TAG, 1, 2, record, &mut a);
            let vb = object.filter_object_into(function, TAG, 1, 2, record, &mut b);
            assert_eq!(va, vb, "{function} on {}", String::from_utf8_lossy(record));
            assert_eq!(a, b, "{function}");
            assert_eq!(plain.stats(), object.stats(), "{function}");
            kept_unchanged += usize::from(va == Verdict::Keep && b == record);
        }
    }
    // The shortcut was taken (echo, trap_once's echoes, object's reply on
    // {"a":1}), and the checked paths too.
    assert!(kept_unchanged >= 10, "{kept_unchanged} {:?}", plain.stats());
    let stats = plain.stats();
    assert!(stats.invalid_json > 0 && stats.invalid_returns > 0 && stats.traps > 0);
}

#[test]
fn fluent_bit_json_escapes_like_flb_utils_write_str() {
    let record = json!({
        "log": "say \"hi\"\\ \n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f} /path",
        "utf8": "é€😀",
        "n": 42,
        "neg": -7,
        "big": 18_446_744_073_709_551_615u64,
        "f": 1.5,
        "whole": 3.0,
        "tiny": 1e-7,
        "huge": 1e20,
        "ok": true,
        "no": false,
        "nil": null,
        "list": [1, "a", [], {}],
        "nested": {"z": 1, "a": 2}
    });
    let expected = concat!(
        r#"{"log":"say \"hi\"\\ \n\r\t\b\f\u0001\u001f\u007f /path","#,
        r#""utf8":"\u00e9\u20ac\ud83d\ude00","#,
        r#""n":42,"neg":-7,"big":18446744073709551615,"f":1.5,"whole":3.0,"#,
        r#""tiny":1e-07,"huge":1e+20,"ok":true,"no":false,"nil":null,"#,
        r#""list":[1,"a",[],{}],"nested":{"z":1,"a":2}}"#
    );
    assert_eq!(
        String::from_utf8(fluent_bit_json(&record)).unwrap(),
        expected
    );
    // Keys are escaped too, and what Fluent Bit prints parses back to the
    // same value.
    let odd_key = json!({"k\u{e9}y\"": "v"});
    assert_eq!(fluent_bit_json(&odd_key), br#"{"k\u00e9y\"":"v"}"#);
    let back: serde_json::Value = serde_json::from_slice(&fluent_bit_json(&record)).unwrap();
    assert_eq!(back, record);
}

#[test]
fn real_module_keeps_a_trivial_record_byte_for_byte() {
    let wasm = common::module_bytes();
    let mut h = Host::new(&wasm, HostConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    for name in [
        "drop_self_scrape",
        "mark_self_scrape",
        "explain_self_scrape",
    ] {
        assert!(h.has_function(name), "{name}");
    }
    let record = fluent_bit_json(&json!({"log": "hello", "stream": "stdout"}));
    assert_eq!(
        keep(h.filter_json("drop_self_scrape", TAG, 1, 2, &record)),
        record
    );
    assert_eq!(h.stats().traps, 0);
    assert_eq!(h.stats().alloc_failures, 0);
}

#[test]
fn filter_json_into_allocates_nothing_per_record_in_steady_state() {
    let record = fluent_bit_json(&json!({"log": "x".repeat(1000), "stream": "stderr"}));
    let mut cases = vec![
        (host("no_alloc.wat", HostConfig::default()), "echo"),
        (host("counting_alloc.wat", HostConfig::default()), "echo"),
    ];
    cases.push((
        Host::new(&common::module_bytes(), HostConfig::default()).unwrap(),
        "drop_self_scrape",
    ));
    for (mut h, function) in cases {
        let mut reply = Vec::with_capacity(4096);
        for _ in 0..10 {
            assert_eq!(
                h.filter_json_into(function, TAG, 1, 2, &record, &mut reply),
                Verdict::Keep
            );
        }
        let before = allocations();
        for _ in 0..1000 {
            assert_eq!(
                h.filter_json_into(function, TAG, 1, 2, &record, &mut reply),
                Verdict::Keep
            );
        }
        assert_eq!(allocations() - before, 0, "{function}");
        assert_eq!(reply, record);
    }
}

#[test]
fn ask_into_answers_from_one_reused_buffer() {
    // The replay's explain instance: no per-record malloc/free, same answers
    // as the faithful path, and memory that does not grow with the count.
    let wasm = common::module_bytes();
    let mut faithful = Host::new(&wasm, HostConfig::default()).unwrap();
    let mut asked = Host::new(&wasm, HostConfig::default()).unwrap();
    let own = "fargate-ip-10-1-2-3.eu-west-2.compute.internal";
    let refusal = format!(
        r#"{{"log":"E0912 01:02:03.456789       1 scraper.go:140] \"Failed to scrape node\" err=\"Get \\\"https://10.1.2.3:10250/metrics/resource\\\": dial tcp 10.1.2.3:10250: connect: connection refused\" node=\"{own}\"","kubernetes":{{"host":"{own}"}}}}"#
    );
    let big = format!(r#"{{"log":"{}"}}"#, "z".repeat(50_000));
    let records = [refusal.as_str(), r#"{"log":"ordinary"}"#, big.as_str()];
    let mut reply = Vec::new();
    for record in records {
        asked
            .ask_into("explain_self_scrape", record.as_bytes(), &mut reply)
            .unwrap();
        let via_filter = faithful
            .call_raw("explain_self_scrape", "t", 0, 0, record.as_bytes(), true)
            .unwrap();
        assert_eq!(reply, via_filter);
    }
    assert!(String::from_utf8_lossy(&reply).contains(r#""reason":"not_scrape_failure""#));
    let pages = asked.memory_pages();
    for i in 0..20_000 {
        asked
            .ask_into("explain_self_scrape", records[i % 3].as_bytes(), &mut reply)
            .unwrap();
    }
    assert_eq!(asked.memory_pages(), pages);
    assert!(matches!(
        asked.ask_into("no_such_export", b"{}", &mut reply),
        Err(Loss::FunctionNotFound(_))
    ));
}
