//! `hmr2-launch serve` with PostgreSQL as the shared queue: a real PostgreSQL server started
//! by the test (Debian's `postgresql` package; a throw-away data folder, loopback port), one
//! API node and two worker nodes sharing a data folder; 10 jobs, one worker killed with
//! SIGKILL mid-job. Every job must succeed, the killed one run again by the other worker,
//! and every output be whole and single.
//!
//! Without PostgreSQL's programs the test fails, naming the package; set
//! `HMR2_SKIP_POSTGRES=1` to skip it on a machine that cannot have them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use reqwest::blocking::{multipart, Client};
use reqwest::StatusCode;
use serde_json::Value;

/// The newest `/usr/lib/postgresql/N/bin` with `initdb` and `pg_ctl`.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

/// A PostgreSQL server for one test; stopped when dropped.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    as_root: bool,
    url: String,
}

fn run_as_postgres(as_root: bool, program: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args).output().expect("cannot run a PostgreSQL program")
}

impl Postgres {
    fn start(dir: &Path) -> Self {
        let bin = postgres_bin().expect("checked");
        // The server refuses to run as root: then it runs as the package's `postgres` user.
        let as_root = unsafe { libc::geteuid() } == 0;
        let data = dir.join("pgdata");
        let socket = dir.join("pgsock");
        std::fs::create_dir_all(&socket).unwrap();
        if as_root {
            for d in [dir, &socket] {
                let ok = Command::new("chown").args(["postgres:postgres"]).arg(d).status().unwrap().success();
                assert!(ok, "cannot hand {} to the postgres user", d.display());
            }
        }
        let d = data.to_str().unwrap();
        let o =
            run_as_postgres(as_root, &bin.join("initdb"), &["-D", d, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        assert!(o.status.success(), "initdb failed: {}", String::from_utf8_lossy(&o.stderr));
        let port = free_port();
        let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", socket.display());
        let log = dir.join("postgres.log");
        let o = run_as_postgres(
            as_root,
            &bin.join("pg_ctl"),
            &["-D", d, "-o", &opts, "-l", log.to_str().unwrap(), "-w", "start"],
        );
        assert!(
            o.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&o.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Self { bin, data, as_root, url: format!("postgres://postgres@127.0.0.1:{port}/postgres") }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = run_as_postgres(
            self.as_root,
            &self.bin.join("pg_ctl"),
            &["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

fn start_node(data: &Path, url: &str, role: &str) -> (Running, String) {
    let mut running = Launch::new("serve")
        .opt("--bind", "127.0.0.1:0")
        .opt("--data-dir", data)
        .opt("--database-url", url)
        .opt("--role", role)
        .opt("--workers", "1")
        .opt("--lease-secs", "3")
        .with_test_network()
        .spawn();
    running.wait_until("the node listens", Duration::from_secs(30), |e| e.contains("serving http://"));
    let base = running
        .stderr()
        .lines()
        .find_map(|l| l.split("serving ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    (running, base)
}

#[test]
fn an_api_node_and_two_workers_share_one_queue_and_survive_a_killed_worker() {
    if postgres_bin().is_none() {
        if std::env::var_os("HMR2_SKIP_POSTGRES").is_some() {
            eprintln!("SKIPPED: PostgreSQL is not installed (HMR2_SKIP_POSTGRES is set)");
            return;
        }
        panic!("PostgreSQL's programs are missing: install Debian's `postgresql` package (or set HMR2_SKIP_POSTGRES=1 to skip)");
    }
    init();
    let dir = scratch("service-postgres");
    let pg = Postgres::start(&dir.join("pg"));
    let data = dir.join("shared");
    let input = dir.join("in.mp4");
    write_with_gstreamer(&format!(
        "videotestsrc num-buffers=45 pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! \
         x264enc ! mp4mux ! filesink location=\"{}\"",
        input.display()
    ));

    let (api, base) = start_node(&data, &pg.url, "api");
    let (worker_a, base_a) = start_node(&data, &pg.url, "worker");
    let (worker_b, _) = start_node(&data, &pg.url, "worker");
    let client = Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    // A worker node takes no uploads.
    let r = client.get(format!("{base_a}/v1/jobs")).send().unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let mut ids = Vec::new();
    for _ in 0..10 {
        let form = multipart::Form::new().file("file", &input).unwrap();
        let r = client.post(format!("{base}/v1/jobs")).multipart(form).send().unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{}", api.stderr());
        ids.push(r.json::<Value>().unwrap()["id"].as_str().unwrap().to_owned());
    }
    let jobs = |client: &Client| -> Vec<Value> {
        let page: Value = client.get(format!("{base}/v1/jobs?limit=100")).send().unwrap().json().unwrap();
        page["jobs"].as_array().unwrap().clone()
    };
    // Kill worker A once both workers are in the middle of a job.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let busy = jobs(&client)
            .iter()
            .filter(|j| j["state"] == "running" && j["progress"]["frames_done"].as_u64() > Some(0))
            .count();
        if busy == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "two jobs never ran at once:\n{}\n{}", worker_a.stderr(), worker_b.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    worker_a.signal("KILL");
    let (status, _) = worker_a.wait(Duration::from_secs(10));
    assert!(!status.success());

    let deadline = Instant::now() + Duration::from_secs(300);
    let all = loop {
        let all = jobs(&client);
        if all.iter().all(|j| j["state"] != "queued" && j["state"] != "running") {
            break all;
        }
        assert!(Instant::now() < deadline, "jobs did not end: {all:#?}\n{}", worker_b.stderr());
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(all.len(), 10);
    for j in &all {
        assert_eq!(j["state"], "succeeded", "{j:#}\nworker B:\n{}", worker_b.stderr());
        assert_eq!(j["progress"]["frames_done"], 45, "{j:#}");
    }
    let rerun: Vec<&Value> = all.iter().filter(|j| j["attempts"].as_u64() == Some(2)).collect();
    assert_eq!(rerun.len(), 1, "exactly the killed worker's job ran twice: {all:#?}");
    assert!(all.iter().all(|j| j["attempts"].as_u64() <= Some(2)));
    // Every job's outputs exist once, whole; no temporary file is left.
    for id in &ids {
        let job_dir = data.join("jobs").join(id);
        let mut names: Vec<String> = std::fs::read_dir(&job_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["input", "poses.jsonl", "video.mp4"], "{}", job_dir.display());
        assert_eq!(decode(&job_dir.join("video.mp4")).frames, 45);
        assert_eq!(check_pose_file(&job_dir.join("poses.jsonl")).len(), 45);
    }
    let video = client.get(format!("{base}/v1/jobs/{}/video", rerun[0]["id"].as_str().unwrap())).send().unwrap();
    assert_eq!(video.status(), StatusCode::OK);
    drop(worker_b);
    drop(api);
}
