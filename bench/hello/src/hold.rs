//! `rathaus-bench-hold`: holds many idle HTTP/1.1 keep-alive connections open against one
//! server, for the "100,000 concurrent keep-alive connections to one portal node" target of
//! issue 7 (R10). Run by hand, never in CI.
//!
//! ```text
//! rathaus-bench-hold --target 127.0.0.1:PORT --connections N [--path /healthz]
//!     [--duration 30s] [--sources 16] [--interval 10s] [--per-process 19000]
//!     [--open-concurrency 64]
//! ```
//!
//! Opens `N` TCP connections to the target, each bound before connecting to one of the source
//! addresses 127.0.0.2 … 127.0.0.(1 + sources) in turn: one source address has ~28,000
//! ephemeral ports (32768–60999), so 100,000 connections need at least 4, and the default 16
//! leave room for sockets still in TIME_WAIT from an earlier run. On each it sends one
//! `GET PATH` (HTTP/1.1, keep-alive) and reads the answer, so the server holds a live
//! connection that has served a request, not a bare accepted socket. At most
//! `open-concurrency` connections per process are being opened at a time, so the server's
//! accept backlog does not overflow. Then, for `duration` (counted from when every connection
//! of every process has been opened or has failed: they all hold at the same time), every
//! connection stays open and idle but for one more request every `interval` (10 s), the
//! connections spread evenly over the interval, so the server sees a steady `N / interval`
//! requests per second on live connections.
//!
//! Reported: how many connections were opened, how many failed to open (by error), how many
//! are open at the end, how many the server closed (by how: end of file or reset while idle,
//! `Connection: close`, during a request; with how long they had been idle), and the latency
//! of the first request (connect + GET) and of the periodic requests (p50, p99, max).
//!
//! File descriptors: on the development machine the hard `RLIMIT_NOFILE` is 20,000 per process
//! and cannot be raised (no `CAP_SYS_RESOURCE`; `ulimit -Hn` says 20000). So this program
//! starts itself again as worker processes (the hidden `--worker --first J` options), each
//! holding at most `per-process` connections (default 19,000, leaving room for the runtime's
//! own descriptors) after raising its soft limit to the hard one, and adds up their reports.
//!
//! The server side has the same cap: one portal process on this machine can hold at most
//! ~20,000 descriptors, its listening sockets, SQLite files, log and connections to the
//! authority nodes included, so it cannot hold 100,000 connections here whatever it does (and a
//! process that keeps a lower soft limit, as service managers often start them with 1,024, is
//! capped lower still). 100,000 on one node needs a machine whose hard limit is above that
//! (e.g. `LimitNOFILE=` in its systemd unit). On this machine, test up to ~19,000 against one
//! portal process. A server at its limit answers nothing to further connections (it cannot
//! accept them, and once its accept queue is full the kernel drops their SYNs): they fail with
//! "no answer within 10 s", and after a few rounds of that the rest are not tried.
//!
//! Seen on the development machine (2026-12-08, release builds, 2 cores shared with
//! compilers): the baseline `rathaus-bench-hello` held 2,000 connections at 3 → 41 MiB RSS and
//! stopped at 19,991 (its 20,000 descriptors) at 380 MiB; `rathaus demo` held 5,000 at 131 →
//! 226 MiB and 15,000 at ~456 MiB, so about 19–22 KiB per idle keep-alive connection (hyper's
//! buffers and task; ~2 GiB for 100,000), with periodic requests at p50 0.1 ms, p99 1–2 ms, and
//! closed none: axum's `serve` gives hyper no timer, so hyper's 30 s header-read timeout is
//! off, and neither an idle keep-alive connection (40 s between requests) nor one with an
//! unfinished request head (40 s) is ever closed by the portal.
//!
//! Traffic goes only to the given target, which must be a loopback address (127.0.0.0/8): the
//! source addresses are loopback ones, and a test here never sends to anything else.
// A measuring program: it reports on stdout and says what is wrong on stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const USAGE: &str = "usage: rathaus-bench-hold --target 127.0.0.1:PORT --connections N \
    [--path /healthz] [--duration 30s] [--sources 16] [--interval 10s] \
    [--per-process 19000] [--open-concurrency 64]";

/// How long a connect, or an answer, may take before it counts as failed.
const PATIENCE: Duration = Duration::from_secs(10);
/// The largest answer read (headers and body).
const MAX_ANSWER: usize = 1 << 20;

#[derive(Debug, Clone)]
struct Options {
    target: SocketAddr,
    connections: usize,
    path: String,
    duration: Duration,
    sources: usize,
    interval: Duration,
    per_process: usize,
    open_concurrency: usize,
    /// Set in a worker process: the index of its first connection overall.
    worker_first: Option<usize>,
}

fn fail(message: &str) -> ! {
    eprintln!("rathaus-bench-hold: {message}\n{USAGE}");
    std::process::exit(2);
}

/// `30s`, `500ms`, `2m`, or a number of seconds.
fn duration(text: &str) -> Option<Duration> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |i| text.split_at(i));
    let n: u64 = number.parse().ok()?;
    match unit {
        "" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "m" => Some(Duration::from_secs(n * 60)),
        _ => None,
    }
}

fn parse(args: impl Iterator<Item = String>) -> Options {
    let mut options = Options {
        target: SocketAddr::from(([127, 0, 0, 1], 0)),
        connections: 0,
        path: "/healthz".into(),
        duration: Duration::from_secs(30),
        sources: 16,
        interval: Duration::from_secs(10),
        per_process: 19_000,
        open_concurrency: 64,
        worker_first: None,
    };
    let mut worker = false;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        if name == "--worker" {
            worker = true;
            continue;
        }
        if name == "--help" || name == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = inline
            .or_else(|| args.next())
            .unwrap_or_else(|| fail(&format!("{name} needs a value")));
        let number = || {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or_else(|| fail(&format!("{name}: not a positive number: {value}")))
        };
        let time = || duration(&value).unwrap_or_else(|| fail(&format!("{name}: {value}")));
        match name.as_str() {
            "--target" => {
                options.target = value
                    .parse()
                    .unwrap_or_else(|_| fail(&format!("--target: not ADDR:PORT: {value}")))
            }
            "--connections" => options.connections = number(),
            "--path" => options.path = value,
            "--duration" => options.duration = time(),
            "--sources" => options.sources = number(),
            "--interval" => options.interval = time(),
            "--per-process" => options.per_process = number(),
            "--open-concurrency" => options.open_concurrency = number(),
            "--first" => options.worker_first = value.parse().ok(),
            _ => fail(&format!("unknown option {name}")),
        }
    }
    if worker && options.worker_first.is_none() {
        fail("--worker needs --first");
    }
    if !worker {
        options.worker_first = None;
    }
    if options.connections == 0 {
        fail("--connections is missing");
    }
    if options.target.port() == 0 || !options.target.ip().is_loopback() {
        fail("--target must be a loopback address with a port, e.g. 127.0.0.1:8080");
    }
    if options.sources > 253 {
        fail("--sources: at most 253 (127.0.0.2 … 127.0.0.254)");
    }
    if !options.path.starts_with('/') || options.path.contains(char::is_whitespace) {
        fail("--path must start with / and hold no spaces");
    }
    if options.interval.is_zero() {
        fail("--interval must be above 0");
    }
    options
}

fn main() {
    let options = parse(std::env::args().skip(1));
    match options.worker_first {
        Some(first) => worker(&options, first),
        None => coordinate(&options),
    }
}

// ---------------------------------------------------------------------------------------------
// The coordinator: starts the workers and adds up what they report.

/// What one worker said last, and in its final report.
#[derive(Default)]
struct Heard {
    opened: usize,
    open: usize,
    failed: usize,
    closed: usize,
    opened_in: Option<f64>,
    periodic_ok: usize,
    counts: BTreeMap<(String, String), usize>,
    latencies: BTreeMap<String, Vec<u32>>,
    done: bool,
}

fn numbers(text: &str) -> Vec<u32> {
    text.split(',').filter_map(|n| n.parse().ok()).collect()
}

impl Heard {
    fn hear(&mut self, line: &str) {
        let fields: Vec<&str> = line.split('\t').collect();
        let number = |i: usize| fields.get(i).and_then(|n| n.parse().ok()).unwrap_or(0);
        match fields.first().copied() {
            Some("progress") => {
                self.opened = number(1);
                self.open = number(2);
                self.failed = number(3);
                self.closed = number(4);
            }
            Some("opened-in") => self.opened_in = fields.get(1).and_then(|s| s.parse().ok()),
            Some("periodic-ok") => self.periodic_ok = number(1),
            Some("count") if fields.len() == 4 => {
                *self
                    .counts
                    .entry((fields[1].to_owned(), fields[2].to_owned()))
                    .or_default() += fields[3].parse::<usize>().unwrap_or(0);
            }
            Some("latency") if fields.len() == 3 => self
                .latencies
                .entry(fields[1].to_owned())
                .or_default()
                .extend(numbers(fields[2])),
            Some("done") => self.done = true,
            _ => eprintln!("rathaus-bench-hold: a worker said: {line}"),
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

/// p50 / p99 / max of microseconds (or of whatever unit, with `scale` and `unit`).
fn spread(values: &mut [u32], scale: f64, unit: &str) -> String {
    values.sort_unstable();
    let show =
        |v: Option<u32>| v.map_or_else(|| "-".into(), |v| format!("{:.2}", v as f64 / scale));
    format!(
        "p50 {} {unit}, p99 {} {unit}, max {} {unit} ({} values)",
        show(percentile(values, 50.0)),
        show(percentile(values, 99.0)),
        show(values.last().copied()),
        values.len()
    )
}

fn coordinate(options: &Options) {
    let n = options.connections;
    let processes = n.div_ceil(options.per_process);
    let per_source = n.div_ceil(options.sources);
    if per_source > 28_000 {
        eprintln!(
            "rathaus-bench-hold: {per_source} connections per source address is more than the \
             ~28,000 ephemeral ports of one; raise --sources"
        );
    }
    println!(
        "rathaus-bench-hold: {n} connections to {} (GET {}), from {} source addresses \
         (127.0.0.2–127.0.0.{}), in {processes} process(es) of at most {}; held {} s after \
         opening, one request per connection every {} s; at most {} opening at a time per \
         process",
        options.target,
        options.path,
        options.sources,
        1 + options.sources,
        options.per_process,
        options.duration.as_secs_f64(),
        options.interval.as_secs_f64(),
        options.open_concurrency,
    );
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(&format!("own path: {e}")));
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Option<String>)>();
    let mut children = Vec::with_capacity(processes);
    // Each worker's stdin: "start" once every worker has opened its connections, so that they
    // all hold at the same time.
    let mut starts = Vec::with_capacity(processes);
    let mut first = 0;
    for i in 0..processes {
        let count = n / processes + usize::from(i < n % processes);
        let mut child = Command::new(&exe)
            .args(["--worker", "--first", &first.to_string()])
            .args(["--connections", &count.to_string()])
            .args(["--target", &options.target.to_string()])
            .args(["--path", &options.path])
            .args(["--duration", &format!("{}ms", options.duration.as_millis())])
            .args(["--interval", &format!("{}ms", options.interval.as_millis())])
            .args(["--sources", &options.sources.to_string()])
            .args(["--open-concurrency", &options.open_concurrency.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start a worker: {e}")));
        let stdout = child.stdout.take().expect("piped");
        starts.push(child.stdin.take().expect("piped"));
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send((i, Some(line)));
            }
            let _ = tx.send((i, None));
        });
        children.push(child);
        first += count;
    }
    drop(tx);

    let started = Instant::now();
    let mut heard: Vec<Heard> = (0..processes).map(|_| Heard::default()).collect();
    let mut running = processes;
    let mut shown = Instant::now();
    let mut peak_open = 0;
    while running > 0 {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok((i, Some(line))) => heard[i].hear(&line),
            Ok((_, None)) => running -= 1,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if !starts.is_empty() && heard.iter().all(|h| h.opened_in.is_some()) {
            for mut stdin in starts.drain(..) {
                let _ = stdin.write_all(b"start\n");
            }
        }
        let open: usize = heard.iter().map(|h| h.open).sum();
        peak_open = peak_open.max(open);
        if shown.elapsed() >= Duration::from_secs(5) {
            shown = Instant::now();
            println!(
                "  {:>5.0} s: opened {:>6}/{n}, open {:>6}, failed {:>6}, closed by the server {:>6}",
                started.elapsed().as_secs_f64(),
                heard.iter().map(|h| h.opened).sum::<usize>(),
                open,
                heard.iter().map(|h| h.failed).sum::<usize>(),
                heard.iter().map(|h| h.closed).sum::<usize>(),
            );
        }
    }
    let mut exits = Vec::new();
    for (i, mut child) in children.into_iter().enumerate() {
        match child.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => exits.push(format!("worker {i}: {status}")),
            Err(e) => exits.push(format!("worker {i}: {e}")),
        }
    }
    report(options, &mut heard, peak_open, &exits);
}

fn report(options: &Options, heard: &mut [Heard], peak_open: usize, exits: &[String]) {
    let n = options.connections;
    let sum = |f: fn(&Heard) -> usize| heard.iter().map(f).sum::<usize>();
    let (opened, open, failed, closed, periodic_ok) = (
        sum(|h| h.opened),
        sum(|h| h.open),
        sum(|h| h.failed),
        sum(|h| h.closed),
        sum(|h| h.periodic_ok),
    );
    let slowest = heard
        .iter()
        .filter_map(|h| h.opened_in)
        .fold(0.0_f64, f64::max);
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut latencies: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for h in heard.iter_mut() {
        for (key, count) in std::mem::take(&mut h.counts) {
            *counts.entry(key).or_default() += count;
        }
        for (key, values) in std::mem::take(&mut h.latencies) {
            latencies.entry(key).or_default().extend(values);
        }
    }
    let by_kind = |class: &str| {
        counts
            .iter()
            .filter(|((c, _), _)| c == class)
            .map(|((_, kind), count)| format!("    {count:>7} × {kind}"))
            .collect::<Vec<_>>()
    };
    println!();
    println!(
        "opened: {opened} of {n} in {slowest:.1} s ({:.0} per second); failed to open: {failed}",
        opened as f64 / slowest.max(0.001)
    );
    for line in by_kind("failed") {
        println!("{line}");
    }
    println!("open at the end: {open} (peak seen {peak_open})");
    println!("closed by the server: {closed}");
    for line in by_kind("closed") {
        println!("{line}");
    }
    if let Some(idle) = latencies.get_mut("idle-before-close") {
        println!(
            "    idle before the server closed: {}",
            spread(idle, 1000.0, "s")
        );
    }
    let errors = by_kind("error");
    println!(
        "periodic requests: {} answered 200; other outcomes: {}",
        periodic_ok,
        if errors.is_empty() { "none" } else { "" }
    );
    for line in errors {
        println!("{line}");
    }
    for (key, label) in [
        ("first", "first request (connect + GET + answer)"),
        ("periodic", "periodic request on an idle connection"),
    ] {
        let mut values = latencies.remove(key).unwrap_or_default();
        println!("{label}: {}", spread(&mut values, 1000.0, "ms"));
    }
    for exit in exits {
        println!("worker failed: {exit}");
    }
    if !exits.is_empty() || heard.iter().any(|h| !h.done) {
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// A worker: holds its share of the connections.

#[derive(Default)]
struct State {
    opened: AtomicUsize,
    open: AtomicUsize,
    failed: AtomicUsize,
    closed: AtomicUsize,
    /// Connections whose opening has ended, well or not.
    settled: AtomicUsize,
    /// Openings in a row that got no answer within 10 s (0 after one that did).
    unanswered: AtomicUsize,
    periodic_ok: AtomicUsize,
    /// (class: failed / closed / error, kind) → how many.
    counts: Mutex<BTreeMap<(&'static str, String), usize>>,
    /// Microseconds, except idle-before-close (milliseconds).
    latencies: Mutex<BTreeMap<&'static str, Vec<u32>>>,
}

impl State {
    fn count(&self, class: &'static str, kind: String) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry((class, kind)).or_default() += 1;
    }

    fn sample(&self, key: &'static str, value: Duration, unit: Duration) {
        let value = u32::try_from(value.as_nanos() / unit.as_nanos()).unwrap_or(u32::MAX);
        let mut latencies = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        latencies.entry(key).or_default().push(value);
    }

    fn failed_to_open(&self, kind: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.settled.fetch_add(1, Ordering::Relaxed);
        self.count("failed", kind);
    }

    fn closed_by_server(&self, kind: String, idle: Duration) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        self.closed.fetch_add(1, Ordering::Relaxed);
        self.count("closed", kind);
        self.sample("idle-before-close", idle, Duration::from_millis(1));
    }

    fn progress(&self) -> String {
        format!(
            "progress\t{}\t{}\t{}\t{}",
            self.opened.load(Ordering::Relaxed),
            self.open.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.closed.load(Ordering::Relaxed),
        )
    }
}

fn worker(options: &Options, first: usize) {
    // Soft limit up to the hard one (20,000 on the development machine).
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < options.connections as u64 + 64 => eprintln!(
            "rathaus-bench-hold: worker {first}: only {limit} file descriptors for {} \
             connections; use a smaller --per-process",
            options.connections
        ),
        Ok(_) => {}
        Err(e) => eprintln!("rathaus-bench-hold: cannot raise the file descriptor limit: {e}"),
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("runtime: {e}")));
    runtime.block_on(hold(options.clone(), first));
    // Exits without closing 19,000 sockets one by one: the kernel does it.
    std::process::exit(0);
}

async fn hold(options: Options, first: usize) {
    let options = Arc::new(options);
    let n = options.connections;
    let state = Arc::new(State::default());
    let request: Arc<[u8]> = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: rathaus-bench-hold\r\nAccept: */*\r\n\r\n",
        options.path, options.target
    )
    .into_bytes()
    .into();
    let gate = Arc::new(tokio::sync::Semaphore::new(options.open_concurrency));
    let (start_tx, start_rx) = tokio::sync::watch::channel(None::<tokio::time::Instant>);
    let began = Instant::now();
    for k in 0..n {
        let connection = Connection {
            options: Arc::clone(&options),
            state: Arc::clone(&state),
            request: Arc::clone(&request),
            source: Ipv4Addr::new(127, 0, 0, 2 + ((first + k) % options.sources) as u8),
            // Spread evenly over the interval: connection k asks at k / n of it.
            offset: options.interval.mul_f64(k as f64 / n as f64),
        };
        let (gate, start) = (Arc::clone(&gate), start_rx.clone());
        tokio::spawn(connection.run(gate, start));
    }
    let ticker = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                println!("{}", state.progress());
            }
        })
    };
    while state.settled.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("opened-in\t{:.3}", began.elapsed().as_secs_f64());
    // The coordinator says "start" when every worker is this far (end of file: at once).
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await;
    let _ = start_tx.send(Some(tokio::time::Instant::now()));
    tokio::time::sleep(options.duration).await;
    ticker.abort();

    println!("{}", state.progress());
    println!("periodic-ok\t{}", state.periodic_ok.load(Ordering::Relaxed));
    let counts = std::mem::take(&mut *state.counts.lock().unwrap_or_else(|e| e.into_inner()));
    for ((class, kind), count) in counts {
        // Tabs and newlines would break the line protocol.
        let kind = kind.replace(['\t', '\n'], " ");
        println!("count\t{class}\t{kind}\t{count}");
    }
    let latencies = std::mem::take(&mut *state.latencies.lock().unwrap_or_else(|e| e.into_inner()));
    for (key, values) in latencies {
        let values: Vec<String> = values.iter().map(u32::to_string).collect();
        println!("latency\t{key}\t{}", values.join(","));
    }
    println!("done");
}

struct Connection {
    options: Arc<Options>,
    state: Arc<State>,
    request: Arc<[u8]>,
    source: Ipv4Addr,
    offset: Duration,
}

/// What matters of an answer.
struct Answer {
    status: u16,
    close: bool,
}

impl Connection {
    async fn run(
        self,
        gate: Arc<tokio::sync::Semaphore>,
        mut start: tokio::sync::watch::Receiver<Option<tokio::time::Instant>>,
    ) {
        let state = &self.state;
        let Ok(permit) = gate.acquire_owned().await else {
            return;
        };
        // A server at its limit (no descriptor left to accept with, its accept queue full)
        // answers nothing; each try would wait 10 s, so after a few rounds of them in a row the
        // rest are not tried.
        let give_up = 2 * self.options.open_concurrency;
        if state.unanswered.load(Ordering::Relaxed) >= give_up {
            return state.failed_to_open(format!(
                "not tried: {give_up} openings in a row got no answer within 10 s"
            ));
        }
        let began = Instant::now();
        let unanswered = |e: String| {
            state.unanswered.fetch_add(1, Ordering::Relaxed);
            e
        };
        let mut stream = match self.open().await {
            Ok(stream) => stream,
            Err(Failure::Timeout) => {
                return state.failed_to_open(unanswered("connect: no answer within 10 s".into()));
            }
            Err(e) => return state.failed_to_open(e.to_string()),
        };
        let answer = match exchange(&mut stream, &self.request).await {
            Ok(answer) if answer.status == 200 => answer,
            Ok(answer) => return state.failed_to_open(format!("first answer {}", answer.status)),
            Err(Failure::Timeout) => {
                return state
                    .failed_to_open(unanswered(format!("first request: {}", Failure::Timeout)));
            }
            Err(e) => return state.failed_to_open(format!("first request: {e}")),
        };
        state.unanswered.store(0, Ordering::Relaxed);
        state.sample("first", began.elapsed(), Duration::from_micros(1));
        state.opened.fetch_add(1, Ordering::Relaxed);
        state.open.fetch_add(1, Ordering::Relaxed);
        state.settled.fetch_add(1, Ordering::Relaxed);
        drop(permit);
        let mut answered = Instant::now();
        if answer.close {
            return state.closed_by_server("answer with Connection: close".into(), Duration::ZERO);
        }

        // Idle until every connection of this process is open, watching for the server
        // closing this one.
        let hold_start = tokio::select! {
            started = start.wait_for(Option::is_some) => match started {
                Ok(at) => (*at).unwrap_or_else(tokio::time::Instant::now),
                Err(_) => return,
            },
            why = idle(&mut stream) => {
                return state.closed_by_server(format!("{why} while idle"), answered.elapsed());
            }
        };
        let mut next = hold_start + self.offset;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                why = idle(&mut stream) => {
                    return state.closed_by_server(format!("{why} while idle"), answered.elapsed());
                }
            }
            next += self.options.interval;
            let sent = Instant::now();
            match exchange(&mut stream, &self.request).await {
                Ok(answer) => {
                    answered = Instant::now();
                    if answer.status == 200 {
                        state.periodic_ok.fetch_add(1, Ordering::Relaxed);
                        state.sample("periodic", sent.elapsed(), Duration::from_micros(1));
                    } else {
                        state.count("error", format!("answer {}", answer.status));
                    }
                    if answer.close {
                        return state.closed_by_server(
                            "answer with Connection: close".into(),
                            Duration::ZERO,
                        );
                    }
                }
                Err(Failure::Timeout) => {
                    // Not the server closing it: this side gives the connection up.
                    state.open.fetch_sub(1, Ordering::Relaxed);
                    return state.count(
                        "error",
                        "no answer within 10 s (connection given up)".into(),
                    );
                }
                Err(e) => {
                    return state
                        .closed_by_server(format!("{e} during a request"), answered.elapsed());
                }
            }
        }
    }

    async fn open(&self) -> Result<TcpStream, Failure> {
        let socket = TcpSocket::new_v4().map_err(|e| Failure::Io("socket", e))?;
        socket
            .bind(SocketAddr::from((self.source, 0)))
            .map_err(|e| Failure::Io("bind", e))?;
        let stream = match tokio::time::timeout(PATIENCE, socket.connect(self.options.target)).await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(Failure::Io("connect", e)),
            Err(_) => return Err(Failure::Timeout),
        };
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

/// Waits until the idle connection shows something: the server closing it, or bytes nobody
/// asked for. Cancel-safe (a read that has not completed reads nothing).
async fn idle(stream: &mut TcpStream) -> String {
    let mut byte = [0_u8; 1];
    match stream.read(&mut byte).await {
        Ok(0) => "closed (end of file)".into(),
        Ok(_) => "bytes nobody asked for".into(),
        Err(e) => format!("error ({e})"),
    }
}

enum Failure {
    Timeout,
    Io(&'static str, std::io::Error),
    Closed,
    Bad(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => write!(f, "no answer within 10 s"),
            Self::Io(what, e) => write!(f, "{what}: {e}"),
            Self::Closed => write!(f, "closed before the whole answer"),
            Self::Bad(what) => write!(f, "{what}"),
        }
    }
}

/// Sends the request and reads its whole answer (Content-Length or chunked), within 10 s.
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> Result<Answer, Failure> {
    tokio::time::timeout(PATIENCE, async {
        stream
            .write_all(request)
            .await
            .map_err(|e| Failure::Io("write", e))?;
        // A fresh buffer each time: an idle connection keeps no memory here.
        let mut buf = Vec::with_capacity(2048);
        loop {
            if let Some(answer) = complete(&buf)? {
                return Ok(answer);
            }
            if buf.len() >= MAX_ANSWER {
                return Err(Failure::Bad("answer larger than 1 MiB".into()));
            }
            buf.reserve(4096);
            match stream.read_buf(&mut buf).await {
                Ok(0) => return Err(Failure::Closed),
                Ok(_) => {}
                Err(e) => return Err(Failure::Io("read", e)),
            }
        }
    })
    .await
    .unwrap_or(Err(Failure::Timeout))
}

/// The answer, once `buf` holds all of it.
fn complete(buf: &[u8]) -> Result<Option<Answer>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(buf) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Failure::Bad(format!("not an HTTP answer: {e}"))),
    };
    let status = response.code.unwrap_or(0);
    let (mut length, mut chunked, mut close) = (None, false, false);
    for header in response.headers.iter() {
        let value = String::from_utf8_lossy(header.value).to_ascii_lowercase();
        if header.name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse::<usize>().ok();
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.contains("chunked");
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = value.contains("close");
        }
    }
    let body = &buf[head..];
    let done = match (length, chunked) {
        (Some(length), _) => body.len() >= length,
        // Enough for small answers: the last chunk and the end of an empty trailer.
        (None, true) => body.ends_with(b"0\r\n\r\n"),
        (None, false) if status == 204 || status == 304 || (100..200).contains(&status) => true,
        (None, false) => {
            return Err(Failure::Bad(format!(
                "answer {status} without a length (ends with the connection)"
            )));
        }
    };
    Ok(done.then_some(Answer { status, close }))
}
