//! Guards "steady state allocates nothing per call": after a warm-up, a
//! 200,000-record pattern of drops, keeps, marks and explanations makes no
//! allocation at all. Linear memory never shrinks, and from Fluent Bit 4.1 the
//! instance lives for the whole process, so a per-call allocation would be a
//! leak in waiting (or fragmentation) on the real host.
use crate::allocations;
use selfscrape_rule::guest::{Export, Guest, HostRecord, Reply};

fn records() -> Vec<Vec<u8>> {
    let own = "fargate-ip-10-1-2-3.eu-west-2.compute.internal";
    let err = r#"Get \\\"https://10.1.2.3:10250/metrics/resource\\\": dial tcp 10.1.2.3:10250: connect: connection refused"#;
    vec![
        format!(r#"{{"log":"E0912 01:02:03.456789       1 scraper.go:140] \"Failed to scrape node\" err=\"{err}\" node=\"{own}\"","kubernetes":{{"host":"{own}"}}}}"#),
        format!(r#"{{"log":"E0912 01:02:03.456789       1 scraper.go:140] \"Failed to scrape node\" err=\"{err}\" node=\"other\"","kubernetes":{{"host":"{own}"}}}}"#),
        r#"{"log":"I0912 01:02:03.456789       1 serving.go:1] ordinary","kubernetes":{"host":"x"}}"#.to_string(),
        format!(r#"{{"msg":"Failed to scrape node","node":{{"name":"{own}"}},"err":"Get \"https://10.1.2.3:10250/x\": dial tcp 10.1.2.3:10250: connect: connection refused","kubernetes":{{"pod_ip":"10.1.2.3"}}}}"#),
        format!(r#"{{"log":"E0518 09:43:53.060171       1 server.go:132] unable to fully scrape metrics: [unable to fully scrape metrics from node {own}: unable to fetch metrics from node {own}: Get \"https://10.1.2.3:10250/stats/summary\": dial tcp 10.1.2.3:10250: connect: connection refused, unable to fully scrape metrics from node b: unable to fetch metrics from node b: Get \"https://10.9.9.9:10250/stats/summary\": dial tcp 10.9.9.9:10250: connect: connection refused]","kubernetes":{{"host":"{own}"}}}}"#),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn run(guest: &mut Guest, records: &[Vec<u8>], rounds: usize) -> usize {
    let mut drops = 0;
    for _ in 0..rounds {
        for rec in records {
            for export in [Export::Drop, Export::Mark, Export::Explain] {
                let p = guest.malloc(rec.len() + 1);
                // SAFETY: malloc returned rec.len() + 1 bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(rec.as_ptr(), p, rec.len());
                    *p.add(rec.len()) = 0;
                }
                guest.begin_call();
                // SAFETY: alive until the next malloc.
                let bytes = unsafe { std::slice::from_raw_parts(p, rec.len()) };
                if guest.call(
                    export,
                    HostRecord::Bytes {
                        bytes,
                        terminated: true,
                    },
                ) == Reply::Empty
                {
                    drops += 1;
                }
                guest.free(p);
            }
        }
    }
    drops
}

#[test]
fn no_allocation_after_warm_up() {
    let records = records();
    let mut guest = Guest::new();
    let warm_drops = run(&mut guest, &records, 3);
    assert_eq!(warm_drops, 3 * 2, "two of the records drop");
    // The counter must see this thread's allocations (crate::allocations
    // counts per thread): prove it with one.
    let probe = allocations::this_thread();
    drop(std::hint::black_box(vec![0u8; 16]));
    assert_eq!(allocations::this_thread() - probe, 1, "counter is live");
    let before = allocations::this_thread();
    let drops = run(&mut guest, &records, 200_000 / records.len());
    let after = allocations::this_thread();
    assert_eq!(drops, 200_000 / records.len() * 2);
    assert_eq!(after - before, 0, "allocations in steady state");
}
