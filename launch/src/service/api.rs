//! The HTTP routes. Every error is JSON, `{"error": "...", "status": N}`, with the status
//! naming the kind of problem (400 bad input, 401 no or wrong token, 404 no such job, 408
//! request not received in time, 409 not in a state for that, 413 too large, 503 queue
//! full, 504 synchronous wait over).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::FromRequest as _;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tower::ServiceExt as _;
use tower_http::services::ServeFile;

use super::job::{run_arguments, Job, JobFiles, JobOptions, JobState};
use super::metrics::Gauges;
use super::store::{now_ms, StoreError};
use super::upload_check;
use super::Service;

const JOBS: &str = "/v1/jobs";
const PROCESS: &str = "/v1/process";
const OPENAPI: &str = include_str!("openapi.yaml");
/// Seconds a client refused for a full queue is told to wait.
const RETRY_AFTER_S: u64 = 10;
/// Longest time the check of an upload (GstDiscoverer) may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// Most of a refused request's body that is read before answering.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
/// Room for the multipart framing and the option fields beyond the file itself.
const FORM_OVERHEAD: u64 = 64 * 1024;

type Shared = Arc<Service>;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": self.message, "status": self.status.as_u16()}));
        let mut r = (self.status, body).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self.status, StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT) {
            // What is left of an oversized or stalled body is not read to its end: the
            // connection is closed, and a client must not send its next request on it.
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        r
    }
}

type ApiResult<T> = Result<T, ApiError>;

pub fn router(svc: Shared) -> Router {
    let limit = (svc.config.max_upload_bytes + FORM_OVERHEAD).min(usize::MAX as u64) as usize;
    let v1 = Router::new()
        .route("/v1/jobs", get(list_jobs).post(create_job))
        .route(PROCESS, axum::routing::post(process))
        .route("/v1/jobs/{id}", get(get_job).delete(delete_job))
        .route("/v1/jobs/{id}/video", get(get_video))
        .route("/v1/jobs/{id}/poses", get(get_poses))
        .route_layer(middleware::from_fn_with_state(svc.clone(), require_token))
        .layer(DefaultBodyLimit::max(limit.saturating_add(DRAIN_LIMIT)));
    let open = Router::new();
    let open = if svc.config.role == crate::cli::ServiceRole::Worker { open } else { open.merge(v1) };
    open.route("/v1/openapi.yaml", get(openapi))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(middleware::from_fn_with_state(svc.clone(), within_request_timeout))
        .with_state(svc)
}

fn request_timed_out(svc: &Service) -> Response {
    let message = format!(
        "the request was not received and answered within this server's limit of {} s (--request-timeout)",
        svc.config.request_timeout.as_secs_f64()
    );
    ApiError::new(StatusCode::REQUEST_TIMEOUT, message).into_response()
}

/// Every request, its body included, is answered within `--request-timeout` (408 beyond).
/// `/v1/process` times only its upload so: its wait for the job is `--sync-timeout`'s.
async fn within_request_timeout(State(svc): State<Shared>, req: Request, next: Next) -> Response {
    if req.uri().path() == PROCESS {
        return next.run(req).await;
    }
    tokio::time::timeout(svc.config.request_timeout, next.run(req)).await.unwrap_or_else(|_| request_timed_out(&svc))
}

async fn require_token(State(svc): State<Shared>, req: Request, next: Next) -> Response {
    if let Some(token) = &svc.config.token {
        let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let ok = given
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
        if !ok {
            return ApiError::new(StatusCode::UNAUTHORIZED, "a valid 'Authorization: Bearer TOKEN' header is required")
                .into_response();
        }
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI)
}

async fn healthz(State(svc): State<Shared>) -> ApiResult<Json<Value>> {
    let counts = svc.store.counts_by_state()?;
    let count = |s: JobState| counts.iter().find(|(st, _)| *st == s).map_or(0, |(_, n)| *n);
    Ok(Json(json!({
        "status": "ok",
        "workers": svc.config.workers,
        "busy": svc.busy.load(Ordering::Relaxed),
        "queued": count(JobState::Queued),
        "running": count(JobState::Running),
    })))
}

async fn metrics(State(svc): State<Shared>) -> ApiResult<Response> {
    let gauges = Gauges {
        jobs: svc.store.counts_by_state()?,
        workers: svc.config.workers,
        busy: svc.busy.load(Ordering::Relaxed),
    };
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], svc.metrics.render(&gauges)).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    offset: Option<u64>,
    limit: Option<u64>,
}

async fn list_jobs(State(svc): State<Shared>, Query(q): Query<ListQuery>) -> ApiResult<Json<Value>> {
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    let page = svc.store.list(offset, limit)?;
    let next = (offset + limit < page.total).then(|| format!("{JOBS}?offset={}&limit={limit}", offset + limit));
    Ok(Json(json!({
        "jobs": page.jobs.iter().map(|j| j.to_json(JOBS)).collect::<Vec<_>>(),
        "total": page.total,
        "offset": offset,
        "limit": limit,
        "next": next,
    })))
}

fn find(svc: &Service, id: &str) -> ApiResult<Job> {
    svc.store.get(id)?.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no job '{id}'")))
}

async fn get_job(State(svc): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(find(&svc, &id)?.to_json(JOBS)))
}

/// Queued: cancelled at once (200). Running: the pipeline is stopped, its outputs finished
/// with the frames done so far (202; the job becomes `cancelled` with `partial: true`).
/// Finished: the job and its files are deleted (204).
async fn delete_job(State(svc): State<Shared>, Path(id): Path<String>) -> ApiResult<Response> {
    let job = find(&svc, &id)?;
    if job.state.is_final() {
        if svc.store.delete_final(&id)? {
            let _ = tokio::fs::remove_dir_all(JobFiles::new(&svc.config.data_dir, &id).dir).await;
        }
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let status = match svc.store.cancel(&id, now_ms())? {
        Some(true) => {
            svc.finished.notify_waiters();
            StatusCode::OK
        }
        Some(false) => StatusCode::ACCEPTED,
        // It ended in between: it can be deleted now.
        None => StatusCode::CONFLICT,
    };
    Ok((status, Json(find(&svc, &id)?.to_json(JOBS))).into_response())
}

async fn serve_output(svc: &Service, id: &str, req: Request, video: bool) -> ApiResult<Response> {
    let job = find(svc, id)?;
    let wanted = if video { job.options.outputs.video() } else { job.options.outputs.poses() };
    let what = if video { "video" } else { "poses" };
    if !wanted {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("job '{id}' was not asked for its {what}")));
    }
    if !job.outputs_ready() {
        return Err(ApiError::new(StatusCode::CONFLICT, format!("job '{id}' is {}: no {what} to download", job.state)));
    }
    let files = JobFiles::new(&svc.config.data_dir, id);
    let path = if video { files.video() } else { files.poses() };
    if !path.is_file() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("the {what} of job '{id}' is not on disk")));
    }
    // ServeFile answers Range requests (206, 416) and conditional ones.
    let mut r = ServeFile::new(path).oneshot(req).await.expect("ServeFile is infallible").map(Body::new);
    let ctype = if video { "video/mp4" } else { "application/x-ndjson" };
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    Ok(r)
}

async fn get_video(State(svc): State<Shared>, Path(id): Path<String>, req: Request) -> ApiResult<Response> {
    serve_output(&svc, &id, req, true).await
}

async fn get_poses(State(svc): State<Shared>, Path(id): Path<String>, req: Request) -> ApiResult<Response> {
    serve_output(&svc, &id, req, false).await
}

/// Removes a job folder when an upload is refused.
struct Cleanup(Option<std::path::PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn queue_full(svc: &Service) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the queue is full ({} jobs waiting); try again later", svc.config.max_queue),
    )
}

fn too_large(svc: &Service) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the upload is larger than this server's limit of {} bytes", svc.config.max_upload_bytes),
    )
}

/// Receives the upload, checks it, and queues the job.
/// Reads and drops up to [`DRAIN_LIMIT`] bytes of a request refused before its body was
/// read: a client that sends its whole body before reading the answer (most do, unless they
/// send `Expect: 100-continue`) then gets the answer instead of a reset connection.
async fn drain(body: Body) {
    use axum::body::HttpBody as _;
    let mut body = std::pin::pin!(body);
    let mut read = 0usize;
    while let Some(Ok(frame)) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        read += frame.data_ref().map_or(0, |d| d.len());
        if read > DRAIN_LIMIT {
            break;
        }
    }
}

/// Reads and drops a form field, up to `left` bytes (counted down).
async fn drain_field(field: &mut axum::extract::multipart::Field<'_>, left: &mut usize) {
    while let Ok(Some(chunk)) = field.chunk().await {
        *left = left.saturating_sub(chunk.len());
        if *left == 0 {
            return;
        }
    }
}

/// Refuses an upload that is too large or comes while the queue is full, before reading it;
/// otherwise opens its form.
async fn open_form(svc: &Shared, req: Request) -> ApiResult<Multipart> {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let refusal = if declared.is_some_and(|n| n > svc.config.max_upload_bytes + FORM_OVERHEAD) {
        Some(too_large(svc))
    } else {
        // Checked again, atomically, when the job is added.
        let queued = svc.store.counts_by_state()?.iter().find(|(s, _)| *s == JobState::Queued).map_or(0, |(_, n)| *n);
        (queued >= svc.config.max_queue).then(|| queue_full(svc))
    };
    if let Some(refusal) = refusal {
        drain(req.into_body()).await;
        return Err(refusal);
    }
    Multipart::from_request(req, svc).await.map_err(|e: MultipartRejection| {
        ApiError::new(StatusCode::BAD_REQUEST, format!("expected a multipart form: {e}"))
    })
}

async fn accept_upload(svc: &Shared, req: Request) -> ApiResult<Job> {
    let mut form = open_form(svc, req).await?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let files = JobFiles::new(&svc.config.data_dir, &id);
    tokio::fs::create_dir_all(&files.dir).await.map_err(|e| internal(format!("cannot create the job folder: {e}")))?;
    let mut cleanup = Cleanup(Some(files.dir.clone()));
    let mut options = JobOptions::default();
    let mut input_name = None;
    let form_error = |e: axum::extract::multipart::MultipartError| {
        let text = e.body_text();
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(svc)
        } else if text.contains("incomplete") {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("truncated upload: the form ended before its closing boundary ({text})"),
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, format!("bad multipart form: {text}"))
        }
    };
    while let Some(mut field) = form.next_field().await.map_err(form_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if input_name.is_some() {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "more than one 'file' field"));
            }
            let mut out = tokio::fs::File::create(files.input())
                .await
                .map_err(|e| internal(format!("cannot store the upload: {e}")))?;
            let mut size = 0u64;
            while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                size += chunk.len() as u64;
                if size > svc.config.max_upload_bytes {
                    // The rest is read and dropped (up to DRAIN_LIMIT): a client sending it
                    // chunked, with no Content-Length to refuse it by, then gets the 413
                    // instead of a reset connection.
                    let mut left = DRAIN_LIMIT;
                    drain_field(&mut field, &mut left).await;
                    drop(field);
                    while left > 0 {
                        let Ok(Some(mut next)) = form.next_field().await else { break };
                        drain_field(&mut next, &mut left).await;
                    }
                    return Err(too_large(svc));
                }
                out.write_all(&chunk).await.map_err(|e| internal(format!("cannot store the upload: {e}")))?;
            }
            out.sync_all().await.map_err(|e| internal(format!("cannot store the upload: {e}")))?;
            if size == 0 {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "the uploaded file is empty"));
            }
            input_name = Some(field.file_name().unwrap_or("upload").to_owned());
            let input = files.input();
            let whole = tokio::task::spawn_blocking(move || {
                std::fs::File::open(input).and_then(|mut f| upload_check::check_complete(&mut f))
            })
            .await
            .map_err(|e| internal(format!("cannot check the upload: {e}")))?
            .map_err(|e| internal(format!("cannot check the upload: {e}")))?;
            if let Some(why) = whole {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("truncated upload: the file is cut short: {why}"),
                ));
            }
        } else {
            let value = field.text().await.map_err(form_error)?;
            options.set(&name, &value).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        }
    }
    let input_name = match (input_name, &options.source) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "give either a 'file' or a 'source', not both"))
        }
        (Some(name), None) => name,
        (None, Some(source)) => source.clone(),
        (None, None) => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "no 'file' field with the video in the form"))
        }
    };
    options
        .check_source(&svc.config.allowed_sources)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    options
        .check_models(svc.config.models_dir.as_deref())
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    probe(svc, &options, &files).await?;
    let job = Job::new(id, options, input_name, now_ms());
    if !svc.store.insert_queued(&job, svc.config.max_queue)? {
        return Err(queue_full(svc));
    }
    cleanup.0 = None;
    svc.wake.notify_one();
    Ok(job)
}

fn internal(message: String) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
}

/// Checks that the upload is a video the pipeline can read: the job's own command line is
/// checked as `hmr2-launch file ... --print-pipeline` would (GstDiscoverer inspects the
/// input, nothing is built), in this process, where GStreamer and the plugins are loaded
/// once, rather than in a child that loads them for every upload.
async fn probe(svc: &Service, options: &JobOptions, files: &JobFiles) -> ApiResult<()> {
    let args = run_arguments(options, files, svc.config.models_dir.as_deref(), false);
    let check = tokio::task::spawn_blocking(move || crate::runner::check_file_job(&args));
    let checked = tokio::time::timeout(PROBE_TIMEOUT, check)
        .await
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "the upload could not be inspected in time"))?
        .map_err(|e| internal(format!("cannot inspect the upload: {e}")))?;
    let Err(failure) = checked else { return Ok(()) };
    let cause = failure
        .message
        .replace(&files.input().to_string_lossy().into_owned(), "the upload")
        .replace(&files.dir.to_string_lossy().into_owned(), "the job folder");
    Err(ApiError::new(StatusCode::BAD_REQUEST, format!("not a usable video: {cause}")))
}

fn accepted(job: &Job) -> Response {
    let body = job.to_json(JOBS);
    let mut r = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{JOBS}/{}", job.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn create_job(State(svc): State<Shared>, req: Request) -> ApiResult<Response> {
    let job = accept_upload(&svc, req).await?;
    Ok(accepted(&job))
}

/// The synchronous form: the same upload, answered when the job ends (200 succeeded, 422
/// failed or cancelled) or after `--sync-timeout` (504; the job goes on, poll its URL).
async fn process(State(svc): State<Shared>, req: Request) -> ApiResult<Response> {
    let Ok(accepted) = tokio::time::timeout(svc.config.request_timeout, accept_upload(&svc, req)).await else {
        return Ok(request_timed_out(&svc));
    };
    let job = accepted?;
    let deadline = Instant::now() + svc.config.sync_timeout;
    let mut stop = svc.stop.subscribe();
    loop {
        let notified = svc.finished.notified();
        let current = find(&svc, &job.id)?;
        if current.state.is_final() {
            let status =
                if current.state == JobState::Succeeded { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            return Ok((status, Json(current.to_json(JOBS))).into_response());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || *stop.borrow() {
            let mut body = current.to_json(JOBS);
            body["error"] = json!(format!(
                "the job did not end within {} s; it goes on: poll {}",
                svc.config.sync_timeout.as_secs(),
                body["url"].as_str().unwrap_or_default()
            ));
            return Ok((StatusCode::GATEWAY_TIMEOUT, Json(body)).into_response());
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep(left.min(Duration::from_secs(1))) => {}
            _ = stop.changed() => {}
        }
    }
}
