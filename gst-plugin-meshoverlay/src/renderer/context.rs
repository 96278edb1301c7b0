//! The GPU context: instance, adapter, device and queue, and how their failures are caught
//! (error scopes, the device-lost and uncaptured-error callbacks, waits with a timeout).

use std::sync::{Arc, Mutex};

use super::{BackendChoice, RenderError, GPU_TIMEOUT};

impl BackendChoice {
    /// The backends to try, in order, with the name used in error messages.
    fn attempts(self) -> &'static [(wgpu::Backends, &'static str)] {
        const VULKAN: (wgpu::Backends, &str) = (wgpu::Backends::VULKAN, "Vulkan");
        const GL: (wgpu::Backends, &str) = (wgpu::Backends::GL, "GL");
        match self {
            Self::Auto => &[VULKAN, GL],
            Self::Vulkan => &[VULKAN],
            Self::Gl => &[GL],
        }
    }
}

/// One open device and what reports its failures.
pub(super) struct GpuContext {
    // Field order is drop order: the device before the instance.
    pub queue: wgpu::Queue,
    pub device: wgpu::Device,
    _instance: wgpu::Instance,
    pub adapter_info: wgpu::AdapterInfo,
    /// The device's largest 2D texture side.
    pub max_texture_size: u32,
    /// Why the device was lost, set by wgpu's callback.
    device_lost: Arc<Mutex<Option<String>>>,
    /// The first error raised outside an error scope, set by wgpu's callback.
    uncaptured: Arc<Mutex<Option<String>>>,
}

impl GpuContext {
    /// Opens a device on the first backend of `choice` that has an adapter.
    pub fn open(choice: BackendChoice) -> Result<Self, RenderError> {
        let (instance, adapter, device, queue) = request_device(choice)?;
        let adapter_info = adapter.get_info();

        let device_lost = Arc::new(Mutex::new(None));
        let lost = device_lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            let reason = match reason {
                wgpu::DeviceLostReason::Destroyed => "the device was destroyed".to_string(),
                wgpu::DeviceLostReason::Unknown => "driver reported a loss".to_string(),
            };
            *lost.lock().unwrap() = Some(if message.is_empty() { reason } else { format!("{reason}: {message}") });
        });
        // wgpu's default handler panics; errors outside scopes are recorded instead.
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            sink.lock().unwrap().get_or_insert(error.to_string());
        }));

        Ok(Self {
            max_texture_size: device.limits().max_texture_dimension_2d,
            queue,
            device,
            _instance: instance,
            adapter_info,
            device_lost,
            uncaptured,
        })
    }

    /// Fails when the device was lost or an error escaped the error scopes.
    pub fn check_device(&self) -> Result<(), RenderError> {
        if let Some(reason) = self.lost_reason() {
            return Err(RenderError::DeviceLost(reason));
        }
        if let Some(message) = self.uncaptured.lock().unwrap().take() {
            return Err(RenderError::Gpu { context: "rendering".into(), message });
        }
        Ok(())
    }

    /// Why the device was lost, after letting wgpu run the maintenance pass that reports it.
    pub fn poll_lost_reason(&self) -> Option<String> {
        let _ = self.device.poll(wgpu::PollType::Poll);
        self.lost_reason()
    }

    fn lost_reason(&self) -> Option<String> {
        self.device_lost.lock().unwrap().clone()
    }

    /// Waits (at most [`GPU_TIMEOUT`]) for `submission` to finish.
    pub fn wait(&self, submission: wgpu::SubmissionIndex, what: &'static str) -> Result<(), RenderError> {
        let result =
            self.device.poll(wgpu::PollType::Wait { submission_index: Some(submission), timeout: Some(GPU_TIMEOUT) });
        self.check_device()?;
        match result {
            Ok(_) => Ok(()),
            Err(wgpu::PollError::Timeout) => Err(RenderError::Timeout(what)),
            Err(err) => Err(RenderError::Gpu { context: what.into(), message: err.to_string() }),
        }
    }
}

fn request_device(
    choice: BackendChoice,
) -> Result<(wgpu::Instance, wgpu::Adapter, wgpu::Device, wgpu::Queue), RenderError> {
    let mut tried = Vec::new();
    for &(backends, name) in choice.attempts() {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = backends;
        // Validation layers and debug labels cost time and are not installed on users' machines.
        descriptor.flags = wgpu::InstanceFlags::empty().with_env();
        let instance = wgpu::Instance::new(descriptor);
        let adapter = match pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        })) {
            Ok(adapter) => adapter,
            Err(err) => {
                tried.push(format!("{name}: {}", adapter_failure(backends, &err.to_string())));
                continue;
            }
        };
        keep_driver_loaded(backends, &instance);
        let info = adapter.get_info();
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("meshoverlay"),
            // The adapter's own limits: frames can be larger than the portable 2048/8192.
            required_limits: adapter.limits(),
            ..Default::default()
        };
        return match pollster::block_on(adapter.request_device(&descriptor)) {
            Ok((device, queue)) => Ok((instance, adapter, device, queue)),
            Err(err) => Err(RenderError::DeviceRequest {
                adapter: format!("{} ({:?})", info.name, info.backend),
                reason: err.to_string(),
            }),
        };
    }
    Err(RenderError::NoAdapter { tried: tried.join("; ") })
}

/// Keeps the first instance that found an adapter on `backends` for the life of the
/// process, so that the graphics driver stays loaded between starts.
///
/// Dropping the last instance unloads the driver library (the Vulkan loader unloads its
/// driver; EGL terminates the display and unloads the DRI driver), and Mesa does not free
/// all of its process-wide state on unload: measured with lavapipe, a new 10 MiB code
/// mapping and a few dozen KiB of heap stayed behind on every start/stop cycle that drew.
/// Each renderer still opens its own instance and device and releases them when it stops;
/// this one stays idle.
fn keep_driver_loaded(backends: wgpu::Backends, instance: &wgpu::Instance) {
    static KEPT: Mutex<Vec<(wgpu::Backends, wgpu::Instance)>> = Mutex::new(Vec::new());
    let mut kept = KEPT.lock().unwrap();
    if !kept.iter().any(|(kept_backends, _)| *kept_backends == backends) {
        kept.push((backends, instance.clone()));
    }
}

/// The part of wgpu's adapter error about `backends` (it lists every backend it knows,
/// mostly "not requested"), or the whole message when that part cannot be found.
fn adapter_failure(backends: wgpu::Backends, message: &str) -> String {
    let names: Vec<String> = backends.iter_names().map(|(name, _)| name.to_lowercase()).collect();
    let relevant: Vec<&str> = message
        .split([',', ';'])
        .map(str::trim)
        .filter(|part| names.iter().any(|name| part.to_lowercase().contains(name.as_str())))
        .filter(|part| !part.ends_with("not requested"))
        .collect();
    if relevant.is_empty() {
        message.to_string()
    } else {
        relevant.join(", ")
    }
}

/// The three error scopes every GPU operation of a frame runs in.
pub(super) struct ErrorScopes(Vec<wgpu::ErrorScopeGuard>);

impl ErrorScopes {
    pub fn push(device: &wgpu::Device) -> Self {
        Self(vec![
            device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            device.push_error_scope(wgpu::ErrorFilter::Validation),
            device.push_error_scope(wgpu::ErrorFilter::Internal),
        ])
    }

    /// Pops the scopes (innermost first) and turns the first captured error into a
    /// [`RenderError`].
    pub fn pop(mut self, context: &str) -> Result<(), RenderError> {
        let mut errors = Vec::new();
        while let Some(scope) = self.0.pop() {
            // wgpu-core resolves the future immediately; nothing waits on the GPU here.
            errors.extend(pollster::block_on(scope.pop()));
        }
        // Running out of memory is the cause to report when it led to other errors.
        if errors.iter().any(|e| matches!(e, wgpu::Error::OutOfMemory { .. })) {
            return Err(RenderError::OutOfMemory(context.into()));
        }
        match errors.into_iter().next() {
            None => Ok(()),
            Some(error) => Err(RenderError::Gpu { context: context.into(), message: error.to_string() }),
        }
    }
}

impl Drop for ErrorScopes {
    /// Scopes left unpopped (an early return) are dropped innermost first, as wgpu requires.
    fn drop(&mut self) {
        while let Some(scope) = self.0.pop() {
            drop(scope);
        }
    }
}
