//! The end of a `nats bench` run: checking that every message arrived (counts, sizes,
//! slow-consumer events, and with `--seq` exactly-once delivery), printing the natscli
//! report or the `--json` line, and the progress line while the run is going.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use tokio::task::JoinHandle;

use super::{client_label, kind, BenchArgs, Sides};
use crate::bench::stats::{self, ClientCpu, Sample};
use crate::bench::{SeqCheck, Shared};
use crate::out;

/// What a finished run measured.
pub(super) struct Results<'a> {
    pub pubs: &'a [Sample],
    pub subs: &'a [Sample],
    pub latency: Option<&'a Histogram<u64>>,
    pub cpu: Option<ClientCpu>,
}

/// The report (or the `--json` line), request latency, the client's own CPU time and
/// the optional CSV file. Printed even when verification failed, so the numbers that
/// failed are visible; the JSON then says `"verified": false` and carries the error.
pub(super) fn print_results(
    args: &BenchArgs,
    sides: &Sides,
    r: &Results<'_>,
    verdict: &anyhow::Result<ExitCode>,
) -> anyhow::Result<()> {
    if args.json {
        let all: Vec<Sample> = r.pubs.iter().chain(r.subs).cloned().collect();
        let mut obj = serde_json::json!({
            "kind": kind(args),
            "client": client_label(args),
            "subject": args.subject(),
            "msgs": args.msgs,
            "size": args.size,
            "pubs": args.pubs,
            "subs": args.subs,
            "queue": args.queue,
            "seq": args.seq,
            "pub_server": sides.pubs.display_servers(),
            "sub_server": sides.subs.display_servers(),
            "pubsub": stats::group_json(&all),
            "pub": stats::group_json(r.pubs),
            "sub": stats::group_json(r.subs),
            "latency": r.latency.map(stats::latency_json),
            "verified": verdict.is_ok(),
        });
        if let Err(err) = verdict {
            obj["error"] = format!("{err:#}").into();
        }
        ClientCpu::add_to(r.cpu.as_ref(), &mut obj);
        println!("{obj}");
    } else {
        println!();
        print!("{}", stats::report(r.pubs, r.subs));
        if let Some(h) = r.latency {
            println!(" Request latency: {}", stats::latency_line(h));
        }
        if let Some(cpu) = &r.cpu {
            println!("{cpu}");
        }
    }
    if let Some(path) = &args.csv {
        let run_id = crate::template::unique_id();
        std::fs::write(path, stats::csv(&run_id, r.pubs, r.subs))
            .with_context(|| format!("writing {}", path.display()))?;
        if !args.json {
            println!("Saved metric data in csv file {}", path.display());
        }
    }
    Ok(())
}

/// Checks that every subscriber (or the queue group) got exactly what was published.
pub(super) fn verify(
    args: &BenchArgs,
    subs: &[Sample],
    wrong_size: u64,
    shared: &Shared,
    seqs: &[Arc<SeqCheck>],
    interrupted: bool,
) -> anyhow::Result<ExitCode> {
    let mut problems = Vec::new();
    for (i, check) in seqs.iter().enumerate() {
        if let Some(p) = check.problem() {
            match &args.queue {
                Some(q) => problems.push(format!("queue group {q:?}: {p}")),
                None => problems.push(format!("subscriber [{}]: {p}", i + 1)),
            }
        }
    }
    if args.queue.is_some() && !subs.is_empty() {
        let total: u64 = subs.iter().map(|s| s.msgs).sum();
        if total != args.msgs {
            problems.push(format!(
                "queue group {:?} received {} of {} messages",
                args.queue.as_deref().unwrap_or(""),
                out::comma(total as i64),
                out::comma(args.msgs as i64)
            ));
        }
    } else {
        for (i, s) in subs.iter().enumerate() {
            if s.msgs != args.msgs {
                problems.push(format!(
                    "subscriber [{}] received {} of {} messages",
                    i + 1,
                    out::comma(s.msgs as i64),
                    out::comma(args.msgs as i64)
                ));
            }
        }
    }
    if wrong_size > 0 {
        problems.push(format!(
            "{wrong_size} messages had a payload size other than {}",
            args.size
        ));
    }
    let slow = shared.slow_consumers.load(Ordering::Relaxed);
    if slow > 0 {
        problems.push(format!(
            "the client dropped messages: {slow} slow consumer events"
        ));
    }
    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let why = if interrupted { " (interrupted)" } else { "" };
    bail!("bench verification failed{why}: {}", problems.join("; "))
}

/// A one-line progress display on stderr, only when stderr is a terminal.
pub(super) fn spawn_progress(args: &BenchArgs, shared: &Arc<Shared>) -> Option<JoinHandle<()>> {
    if args.no_progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let shared = Arc::clone(shared);
    let (msgs, pubs, subs) = (args.msgs, args.pubs, args.subs);
    let expect = if args.queue.is_some() {
        msgs
    } else {
        msgs * subs as u64
    };
    Some(tokio::spawn(async move {
        loop {
            let p = shared.published.load(Ordering::Relaxed);
            let r = shared.received.load(Ordering::Relaxed);
            let mut line = String::from("\r");
            if pubs > 0 {
                line.push_str(&format!(
                    "published {}/{} ",
                    out::comma(p as i64),
                    out::comma(msgs as i64)
                ));
            }
            if subs > 0 {
                line.push_str(&format!(
                    "received {}/{}",
                    out::comma(r as i64),
                    out::comma(expect as i64)
                ));
            }
            eprint!("{line}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::sync::watch;

    fn args(subs: usize, queue: Option<&str>) -> BenchArgs {
        BenchArgs {
            mode: None,
            subject: Some("s".into()),
            pubs: 1,
            subs,
            msgs: 100,
            size: 8,
            request: false,
            reply: false,
            queue: queue.map(String::from),
            raw: false,
            pub_server: None,
            sub_server: None,
            json: false,
            seq: false,
            no_progress: true,
            csv: None,
        }
    }

    fn got(n: u64) -> Sample {
        let now = Instant::now();
        Sample::new(n, 8, now, now)
    }

    #[test]
    fn verification() {
        let shared = Shared::new(watch::channel(false).1);
        assert!(verify(
            &args(2, None),
            &[got(100), got(100)],
            0,
            &shared,
            &[],
            false
        )
        .is_ok());
        let short = verify(&args(2, None), &[got(100), got(99)], 0, &shared, &[], false);
        let msg = format!(
            "{:#}",
            short.err().map(|e| e.to_string()).unwrap_or_default()
        );
        assert!(
            msg.contains("subscriber [2] received 99 of 100 messages"),
            "{msg}"
        );
        assert!(verify(
            &args(2, Some("q")),
            &[got(60), got(40)],
            0,
            &shared,
            &[],
            false
        )
        .is_ok());
        assert!(verify(
            &args(2, Some("q")),
            &[got(60), got(39)],
            0,
            &shared,
            &[],
            false
        )
        .is_err());
        assert!(verify(&args(1, None), &[got(100)], 3, &shared, &[], false).is_err());
        shared.slow_consumers.store(1, Ordering::Relaxed);
        assert!(verify(&args(1, None), &[got(100)], 0, &shared, &[], false).is_err());
    }

    #[test]
    fn sequence_problems_fail_verification() {
        let shared = Shared::new(watch::channel(false).1);
        let check = Arc::new(SeqCheck::new(2));
        check.saw(&0u64.to_le_bytes());
        check.saw(&0u64.to_le_bytes());
        // The counts add up (a duplicate hides a loss); the sequence check does not.
        let res = verify(
            &args(1, Some("q")),
            &[got(100)],
            0,
            &shared,
            &[check],
            false,
        );
        let msg = res.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("queue group \"q\": 1 of 2 sequence numbers seen, 1 duplicates"),
            "{msg}"
        );
    }
}
