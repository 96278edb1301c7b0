//! `hmr2-launch serve` driven over HTTP by a real client on loopback: the job life cycle
//! (upload, progress, video with Range requests, poses, list, metrics, delete), the
//! synchronous form, bad inputs and limits, cancel, auth, and a server killed with
//! SIGKILL mid-job that finishes the job after a restart. The pipelines use the bundled
//! HMR2 test network on short generated clips.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use reqwest::blocking::{multipart, Client, RequestBuilder, Response};
use reqwest::StatusCode;
use serde_json::Value;

/// A running `hmr2-launch serve` on a free loopback port.
struct Server {
    running: Running,
    base: String,
    token: Option<String>,
    client: Client,
}

impl Server {
    fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let mut launch =
            Launch::new("serve").opt("--bind", "127.0.0.1:0").opt("--data-dir", data_dir).with_test_network();
        for a in extra {
            launch = launch.arg(a);
        }
        let token = extra.iter().position(|a| *a == "--token").map(|i| extra[i + 1].to_owned());
        let mut running = launch.spawn();
        running.wait_until("the server listens", Duration::from_secs(30), |e| e.contains("serving http://"));
        let stderr = running.stderr();
        let base = stderr
            .lines()
            .find_map(|l| l.split("serving ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the address")
            .to_owned();
        let client = Client::builder().timeout(Duration::from_secs(300)).build().unwrap();
        Self { running, base, token, client }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authed(&self, r: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    fn get(&self, path: &str) -> Response {
        self.authed(self.client.get(self.url(path))).send().unwrap()
    }

    fn delete(&self, path: &str) -> Response {
        self.authed(self.client.delete(self.url(path))).send().unwrap()
    }

    fn post_form(&self, path: &str, form: multipart::Form) -> Response {
        self.authed(self.client.post(self.url(path))).multipart(form).send().unwrap()
    }

    fn job(&self, id: &str) -> Value {
        let r = self.get(&format!("/v1/jobs/{id}"));
        assert_eq!(r.status(), StatusCode::OK);
        r.json().unwrap()
    }

    /// Polls the job until `cond` holds; panics with the job and the server's stderr.
    fn wait_job(&self, id: &str, what: &str, timeout: Duration, cond: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let job = self.job(id);
            if cond(&job) {
                return job;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {job:#}\n{}", self.running.stderr());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn upload(clip: &Path, options: &[(&str, &str)]) -> multipart::Form {
    let mut form = multipart::Form::new().file("file", clip).unwrap();
    for (k, v) in options {
        form = form.text(k.to_string(), v.to_string());
    }
    form
}

/// An H.264 MP4 of `frames` frames, 320x240 at 15 frames/s.
fn clip(dir: &Path, name: &str, frames: u32) -> PathBuf {
    let path = dir.join(name);
    write_with_gstreamer(&format!(
        "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! \
         x264enc ! mp4mux ! filesink location=\"{}\"",
        path.display()
    ));
    path
}

fn error_of(r: Response, status: StatusCode) -> String {
    assert_eq!(r.status(), status, "status");
    let v: Value = r.json().unwrap();
    assert_eq!(v["status"], status.as_u16());
    v["error"].as_str().unwrap().to_owned()
}

fn save(r: Response, path: &Path) -> Vec<u8> {
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().unwrap().to_vec();
    std::fs::write(path, &bytes).unwrap();
    bytes
}

#[test]
fn job_life_cycle_downloads_list_metrics_and_the_synchronous_form() {
    init();
    let dir = scratch("service-life");
    let input = clip(dir.path(), "in.mp4", 30);
    let allowed = format!("{}/", dir.path().display());
    let server = Server::start(&dir.join("data"), &["--workers", "1", "--allow-source", &allowed]);

    let r = server.post_form("/v1/jobs", upload(&input, &[("outputs", "both"), ("batch_size", "2")]));
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = r.json().unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/jobs/{id}"));
    assert_eq!(job["url"], location);
    assert_eq!(job["input_name"], "in.mp4");
    assert_eq!(job["options"]["batch_size"], 2);

    let done = server
        .wait_job(&id, "success", Duration::from_secs(180), |j| j["state"] != "queued" && j["state"] != "running");
    assert_eq!(done["state"], "succeeded", "{done:#}\n{}", server.running.stderr());
    assert_eq!(done["progress"]["frames_done"], 30);
    assert_eq!(done["progress"]["frames_total"], 30);
    assert_eq!(done["attempts"], 1);
    assert!(done["error"].is_null());
    let stages = done["stages"].as_array().unwrap();
    let pose = stages.iter().find(|s| s["element"] == "hmr2pose").expect("hmr2pose's stage times");
    assert_eq!(pose["frames"], 30);
    assert!(!pose["ms_per_frame"].as_object().unwrap().is_empty(), "{pose}");

    // The video: every frame; a Range request gets exactly those bytes.
    let video = dir.join("out.mp4");
    let bytes = save(server.get(done["links"]["video"].as_str().unwrap()), &video);
    assert_eq!(decode(&video).frames, 30);
    let r = server
        .authed(server.client.get(server.url(&format!("/v1/jobs/{id}/video"))))
        .header("Range", "bytes=100-199")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"].to_str().unwrap(), format!("bytes 100-199/{}", bytes.len()));
    assert_eq!(r.bytes().unwrap().as_ref(), &bytes[100..200]);
    // The poses: one valid line per frame.
    let poses = dir.join("poses.jsonl");
    save(server.get(&format!("/v1/jobs/{id}/poses")), &poses);
    assert_eq!(check_pose_file(&poses).len(), 30);

    // The synchronous form, poses only.
    let r = server.post_form("/v1/process", upload(&input, &[("outputs", "poses"), ("track", "false")]));
    assert_eq!(r.status(), StatusCode::OK);
    let sync: Value = r.json().unwrap();
    assert_eq!(sync["state"], "succeeded");
    assert!(sync["links"].get("video").is_none() && sync["links"]["poses"].is_string(), "{sync:#}");
    let r = server.get(&format!("/v1/jobs/{}/video", sync["id"].as_str().unwrap()));
    assert!(error_of(r, StatusCode::NOT_FOUND).contains("not asked for its video"));

    // The list, newest first, paged.
    let page: Value = server.get("/v1/jobs?limit=1").json().unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["jobs"][0]["id"], sync["id"]);
    assert_eq!(page["next"], "/v1/jobs?offset=1&limit=1");
    let page: Value = server.get("/v1/jobs?offset=1&limit=1").json().unwrap();
    assert_eq!(page["jobs"][0]["id"], id.as_str());
    assert!(page["next"].is_null());

    let metrics = server.get("/metrics").text().unwrap();
    assert!(metrics.contains("hmr2_jobs{state=\"succeeded\"} 2"), "{metrics}");
    assert!(metrics.contains("hmr2_frames_processed_total 60"), "{metrics}");
    assert!(metrics.contains("hmr2_stage_seconds_total{element=\"hmr2pose\""), "{metrics}");
    // Both jobs went to a process started ahead of them.
    assert!(metrics.contains("hmr2_warm_starts_total 2"), "{metrics}");
    let health: Value = server.get("/healthz").json().unwrap();
    assert_eq!((health["status"].as_str(), health["workers"].as_u64()), (Some("ok"), Some(1)));
    let spec = server.get("/v1/openapi.yaml").text().unwrap();
    assert!(spec.starts_with("openapi: 3") && spec.contains("/v1/jobs/{id}/video"));

    // A server-side source the operator allows, instead of an upload.
    let form = multipart::Form::new().text("source", input.to_str().unwrap().to_owned()).text("outputs", "poses");
    let r = server.post_form("/v1/process", form);
    assert_eq!(r.status(), StatusCode::OK);
    let job: Value = r.json().unwrap();
    assert_eq!((job["state"].as_str(), job["progress"]["frames_done"].as_u64()), (Some("succeeded"), Some(30)));
    let outside = multipart::Form::new().text("source", "/etc/passwd");
    let e = error_of(server.post_form("/v1/jobs", outside), StatusCode::BAD_REQUEST);
    assert!(e.contains("not under a location this server allows"), "{e}");

    // A finished job is deleted with its files.
    assert_eq!(server.delete(&format!("/v1/jobs/{id}")).status(), StatusCode::NO_CONTENT);
    assert!(error_of(server.get(&format!("/v1/jobs/{id}")), StatusCode::NOT_FOUND).contains("no job"));
    assert!(!dir.join("data/jobs").join(&id).exists());
}

#[test]
fn bad_inputs_limits_auth_queue_and_cancel() {
    init();
    let dir = scratch("service-limits");
    let long = clip(dir.path(), "long.mp4", 600);
    let short = clip(dir.path(), "short.mp4", 10);
    let data = dir.join("data");
    let server =
        Server::start(&data, &["--workers", "1", "--max-queue", "1", "--max-upload-mib", "1", "--token", "s3cret"]);

    // Auth.
    let r = server.client.get(server.url("/v1/jobs")).send().unwrap();
    assert!(error_of(r, StatusCode::UNAUTHORIZED).contains("Bearer"));
    let r = server.client.get(server.url("/v1/jobs")).bearer_auth("wrong").send().unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.client.get(server.url("/healthz")).send().unwrap().status(), StatusCode::OK);

    // Bad inputs: each named, and the server keeps serving.
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a video at all\n".repeat(100)).unwrap();
    let e = error_of(server.post_form("/v1/jobs", upload(&text, &[])), StatusCode::BAD_REQUEST);
    assert!(e.starts_with("not a usable video"), "{e}");
    assert!(!e.contains(data.to_str().unwrap()), "server paths are not shown: {e}");
    let e = error_of(server.post_form("/v1/jobs", upload(&short, &[("colour", "red")])), StatusCode::BAD_REQUEST);
    assert!(e.contains("unknown option 'colour'"), "{e}");
    let e = error_of(server.post_form("/v1/jobs", upload(&short, &[("outputs", "all")])), StatusCode::BAD_REQUEST);
    assert!(e.contains("video, poses or both"), "{e}");
    let e = error_of(server.post_form("/v1/jobs", upload(&short, &[("model", "hmr2.onnx")])), StatusCode::BAD_REQUEST);
    assert!(e.contains("--models-dir"), "{e}");
    let e =
        error_of(server.post_form("/v1/jobs", multipart::Form::new().text("outputs", "both")), StatusCode::BAD_REQUEST);
    assert!(e.contains("no 'file' field"), "{e}");
    let empty = dir.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    assert!(error_of(server.post_form("/v1/jobs", upload(&empty, &[])), StatusCode::BAD_REQUEST).contains("empty"));
    let big = dir.join("big.mp4");
    std::fs::write(&big, vec![0u8; 2 * 1024 * 1024]).unwrap();
    let e = error_of(server.post_form("/v1/jobs", upload(&big, &[])), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(e.contains("limit"), "{e}");
    assert_eq!(server.get("/v1/jobs/nope").status(), StatusCode::NOT_FOUND);
    let listed: Value = server.get("/v1/jobs").json().unwrap();
    assert_eq!(listed["total"], 0, "refused uploads leave no job");
    let leftovers = std::fs::read_dir(data.join("jobs")).unwrap().count();
    assert_eq!(leftovers, 0, "refused uploads leave no files");

    // The queue: one running, one waiting, the next refused with 503 and Retry-After.
    let r = server.post_form("/v1/jobs", upload(&long, &[]));
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let running: Value = r.json().unwrap();
    let running_id = running["id"].as_str().unwrap().to_owned();
    server.wait_job(&running_id, "running with progress", Duration::from_secs(120), |j| {
        j["state"] == "running" && j["progress"]["frames_done"].as_u64() > Some(0)
    });
    let r = server.post_form("/v1/jobs", upload(&short, &[]));
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let queued: Value = r.json().unwrap();
    let queued_id = queued["id"].as_str().unwrap().to_owned();
    let r = server.post_form("/v1/jobs", upload(&short, &[]));
    assert_eq!(r.headers()["retry-after"], "10");
    assert!(error_of(r, StatusCode::SERVICE_UNAVAILABLE).contains("queue is full"));

    // A running job shows its progress and an ETA.
    let j = server.job(&running_id);
    assert_eq!(j["progress"]["frames_total"], 600);
    assert!(j["progress"]["fps"].as_f64().unwrap() > 0.0 && j["progress"]["eta_s"].as_f64().is_some(), "{j:#}");
    assert_eq!(server.get(&format!("/v1/jobs/{running_id}/video")).status(), StatusCode::CONFLICT);

    // Cancel: the queued job at once, the running one with its outputs finished.
    let r = server.delete(&format!("/v1/jobs/{queued_id}"));
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().unwrap()["state"], "cancelled");
    let r = server.delete(&format!("/v1/jobs/{running_id}"));
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.json::<Value>().unwrap()["cancel_requested"], true);
    let j = server.wait_job(&running_id, "cancelled", Duration::from_secs(60), |j| j["state"] != "running");
    assert_eq!(j["state"], "cancelled", "{j:#}");
    assert_eq!(j["partial"], true);
    let frames = j["progress"]["frames_done"].as_u64().unwrap();
    assert!(frames > 0 && frames < 600, "{j:#}");
    let video = dir.join("partial.mp4");
    save(server.get(&format!("/v1/jobs/{running_id}/video")), &video);
    assert_eq!(decode(&video).frames, frames, "the partial video holds the frames done");
    let poses = dir.join("partial.jsonl");
    save(server.get(&format!("/v1/jobs/{running_id}/poses")), &poses);
    assert_eq!(check_pose_file(&poses).len() as u64, frames);
    let metrics = server.get("/metrics").text().unwrap();
    assert!(metrics.contains("hmr2_jobs{state=\"cancelled\"} 2"), "{metrics}");
}

#[test]
fn a_server_killed_mid_job_runs_it_again_after_a_restart() {
    init();
    let dir = scratch("service-restart");
    let input = clip(dir.path(), "in.mp4", 150);
    let data = dir.join("data");
    let server = Server::start(&data, &["--workers", "1"]);
    let r = server.post_form("/v1/jobs", upload(&input, &[]));
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().unwrap()["id"].as_str().unwrap().to_owned();
    server.wait_job(&id, "progress", Duration::from_secs(120), |j| j["progress"]["frames_done"].as_u64() > Some(0));
    server.running.signal("KILL");
    let Server { running, .. } = server;
    let (status, _) = running.wait(Duration::from_secs(10));
    assert!(!status.success());

    let server = Server::start(&data, &["--workers", "1"]);
    assert!(server.running.stderr().contains("1 job(s) queued again"), "{}", server.running.stderr());
    let j = server.wait_job(&id, "the job's end", Duration::from_secs(180), |j| {
        j["state"] != "queued" && j["state"] != "running"
    });
    assert_eq!(j["state"], "succeeded", "{j:#}");
    assert_eq!(j["attempts"], 2);
    let video = dir.join("out.mp4");
    save(server.get(&format!("/v1/jobs/{id}/video")), &video);
    assert_eq!(decode(&video).frames, 150, "every frame");
    let poses = dir.join("poses.jsonl");
    save(server.get(&format!("/v1/jobs/{id}/poses")), &poses);
    assert_eq!(check_pose_file(&poses).len(), 150);
}

#[test]
fn a_drawing_failure_delivers_the_original_frames_with_the_poses() {
    init();
    let dir = scratch("service-fallback");
    let input = clip(dir.path(), "in.mp4", 20);
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    // Not a body model: meshoverlay cannot load it, so drawing fails.
    std::fs::write(models.join("broken.safetensors"), b"this is not a safetensors file").unwrap();
    let server = Server::start(&dir.join("data"), &["--workers", "1", "--models-dir", models.to_str().unwrap()]);

    let r = server.post_form("/v1/process", upload(&input, &[("body_model", "broken.safetensors")]));
    let job: Value = r.json().unwrap();
    assert_eq!(job["state"], "succeeded", "{job:#}\n{}", server.running.stderr());
    let why = job["degraded"].as_str().expect("the job says the video is degraded");
    assert!(why.contains("original frames"), "{why}");
    let video = dir.join("out.mp4");
    save(server.get(&format!("/v1/jobs/{}/video", job["id"].as_str().unwrap())), &video);
    assert_eq!(decode(&video).frames, 20);
    let poses = dir.join("poses.jsonl");
    save(server.get(&format!("/v1/jobs/{}/poses", job["id"].as_str().unwrap())), &poses);
    assert_eq!(check_pose_file(&poses).len(), 20);

    // Without the fallback the job fails, naming the drawing element.
    let r =
        server.post_form("/v1/process", upload(&input, &[("body_model", "broken.safetensors"), ("fallback", "false")]));
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let job: Value = r.json().unwrap();
    assert_eq!(job["state"], "failed");
    assert!(job["error"].as_str().unwrap().contains("overlay"), "{job:#}");
    assert!(job["degraded"].is_null());
}

#[test]
fn a_server_stopped_with_sigterm_puts_its_running_job_back_in_the_queue() {
    init();
    let dir = scratch("service-sigterm");
    let input = clip(dir.path(), "in.mp4", 150);
    let data = dir.join("data");
    let server = Server::start(&data, &["--workers", "1"]);
    let r = server.post_form("/v1/jobs", upload(&input, &[("outputs", "video")]));
    let id = r.json::<Value>().unwrap()["id"].as_str().unwrap().to_owned();
    server.wait_job(&id, "progress", Duration::from_secs(120), |j| j["progress"]["frames_done"].as_u64() > Some(0));
    server.running.signal("TERM");
    let Server { running, .. } = server;
    let (status, stderr) = running.wait(Duration::from_secs(20));
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("running jobs go back to the queue"), "{stderr}");

    let server = Server::start(&data, &["--workers", "1"]);
    assert!(!server.running.stderr().contains("unclean stop"), "{}", server.running.stderr());
    let j = server.wait_job(&id, "the job's end", Duration::from_secs(180), |j| {
        j["state"] != "queued" && j["state"] != "running"
    });
    assert_eq!(j["state"], "succeeded", "{j:#}");
    assert_eq!(j["attempts"], 1, "a run stopped by the service is not counted");
    let video = dir.join("out.mp4");
    save(server.get(&format!("/v1/jobs/{id}/video")), &video);
    assert_eq!(decode(&video).frames, 150);
}

/// The first `len` bytes of `from`, written to `to`.
fn cut(from: &Path, to: &Path, len: usize) -> PathBuf {
    let bytes = std::fs::read(from).unwrap();
    std::fs::write(to, &bytes[..len.min(bytes.len())]).unwrap();
    to.to_owned()
}

#[test]
fn truncated_uploads_are_refused_at_upload_time() {
    init();
    let dir = scratch("service-truncated");
    let sample = sample_clip();
    // The sample with its index first (the layout of files made for streaming): GstDiscoverer
    // reads a half of it without complaint.
    let faststart = dir.join("faststart.mp4");
    write_with_gstreamer(&format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! mp4mux faststart=true ! filesink location=\"{}\"",
        sample.display(),
        faststart.display()
    ));
    let mkv = dir.join("clip.mkv");
    write_with_gstreamer(&format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! matroskamux ! filesink location=\"{}\"",
        sample.display(),
        mkv.display()
    ));
    let data = dir.join("data");
    let server = Server::start(&data, &["--workers", "1"]);
    for whole in [&sample, &faststart, &mkv] {
        let size = std::fs::metadata(whole).unwrap().len() as usize;
        let name = format!("half-{}", whole.file_name().unwrap().to_str().unwrap());
        let half = cut(whole, &dir.join(&name), size / 2);
        let e = error_of(server.post_form("/v1/jobs", upload(&half, &[])), StatusCode::BAD_REQUEST);
        assert!(e.starts_with("truncated upload: the file is cut short"), "{name}: {e}");
    }
    // A form that ends before its closing boundary (Content-Length says that is all).
    let boundary = "XyZ";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\
         Content-Type: video/mp4\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&std::fs::read(&sample).unwrap()[..50_000]);
    let r = server
        .client
        .post(server.url("/v1/jobs"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .unwrap();
    let e = error_of(r, StatusCode::BAD_REQUEST);
    assert!(e.starts_with("truncated upload: the form ended"), "{e}");
    let listed: Value = server.get("/v1/jobs").json().unwrap();
    assert_eq!(listed["total"], 0, "no job for a truncated upload");
    assert_eq!(std::fs::read_dir(data.join("jobs")).unwrap().count(), 0, "nor its files");
    // The whole files are taken.
    for whole in [&sample, &faststart, &mkv] {
        let r = server.post_form("/v1/jobs", upload(whole, &[("max_frames", "2"), ("outputs", "poses")]));
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{}", whole.display());
    }
}

/// A body with no Content-Length: `len` bytes in chunked transfer.
struct Endless {
    left: usize,
}

impl std::io::Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left);
        buf[..n].fill(0x47);
        self.left -= n;
        Ok(n)
    }
}

#[test]
fn an_oversized_chunked_upload_gets_a_413_naming_the_limit() {
    init();
    let dir = scratch("service-chunked");
    let server = Server::start(&dir.join("data"), &["--workers", "1", "--max-upload-mib", "1"]);
    let part = multipart::Part::reader(Endless { left: 24 * 1024 * 1024 }).file_name("big.mp4");
    let form = multipart::Form::new().text("outputs", "both").part("file", part);
    let r = server.client.post(server.url("/v1/jobs")).multipart(form).send().expect("an answer, not a reset");
    let e = error_of(r, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(e.contains("limit of 1048576 bytes"), "{e}");
    assert_eq!(server.get("/healthz").status(), StatusCode::OK, "the server keeps serving");
}

/// Sends `head` on a fresh connection and stalls; returns what came back and when the
/// server closed the connection (None: still open after 20 s).
fn stall_with(server: &Server, head: &[u8]) -> (String, Option<Duration>) {
    use std::io::{Read, Write};
    let addr = server.base.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start = Instant::now();
    tcp.write_all(head).unwrap();
    let mut answer = Vec::new();
    let closed = match tcp.read_to_end(&mut answer) {
        Ok(_) => Some(start.elapsed()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(start.elapsed()),
        Err(_) => None,
    };
    (String::from_utf8_lossy(&answer).into_owned(), closed)
}

#[test]
fn stalled_clients_time_out_on_every_route_and_the_server_keeps_serving() {
    init();
    let dir = scratch("service-timeouts");
    let server = Server::start(&dir.join("data"), &["--workers", "1", "--request-timeout", "2"]);
    let stalled_body = |path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n\
             Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"outputs\"\r\n\r\n"
        )
    };
    for path in ["/v1/jobs", "/v1/process"] {
        let (answer, closed) = stall_with(&server, stalled_body(path).as_bytes());
        let took = closed.unwrap_or_else(|| panic!("{path}: the connection stayed open; got: {answer}"));
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains("--request-timeout"), "{path}: {answer}");
        assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(10), "{path}: {took:?}");
    }
    // Headers never finished: the connection is closed.
    let (answer, closed) = stall_with(&server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    let took = closed.unwrap_or_else(|| panic!("a client stalled in its headers kept its connection: {answer}"));
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(server.get("/healthz").status(), StatusCode::OK, "the server keeps serving");
    let listed: Value = server.get("/v1/jobs").json().unwrap();
    assert_eq!(listed["total"], 0, "no job from a stalled upload");
}
