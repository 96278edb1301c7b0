// Lit body surfaces in the camera frame (OpenCV axes: x right, y down, z forward).
// Each person is one instance: its clip matrix (the person's own camera, mapped onto the
// render window) and its colour with the overlay opacity in alpha.
//
// Lighting is evaluated per vertex and interpolated (Gouraud): the meshes are dense enough
// for it to look smooth, and on a software rasteriser the fragment stage dominates.

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) color: vec4<f32>,
}

// Key light from the upper left, in front of the person (y is down, -z towards the camera).
const KEY_LIGHT: vec3<f32> = vec3<f32>(-0.35, -0.65, -0.67);

fn shade(camera_pos: vec3<f32>, normal: vec3<f32>, albedo: vec3<f32>) -> vec3<f32> {
    let to_eye = normalize(-camera_pos);
    var n = normalize(normal);
    // Two-sided: a surface seen from behind is lit as seen from the front.
    if dot(n, to_eye) < 0.0 {
        n = -n;
    }
    let key = normalize(KEY_LIGHT);
    let diffuse = max(dot(n, key), 0.0);
    // A headlight fill keeps the sides facing away from the key light readable.
    let fill = max(dot(n, to_eye), 0.0);
    let specular = pow(max(dot(n, normalize(key + to_eye)), 0.0), 32.0);
    let intensity = 0.28 + 0.55 * diffuse + 0.25 * fill;
    return min(albedo * intensity + vec3<f32>(0.12 * specular), vec3<f32>(1.0));
}

@vertex
fn vs_main(
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) clip_x: vec4<f32>,
    @location(3) clip_y: vec4<f32>,
    @location(4) clip_z: vec4<f32>,
    @location(5) clip_w: vec4<f32>,
    @location(6) color: vec4<f32>,
) -> VertexOut {
    let clip_from_camera = mat4x4<f32>(clip_x, clip_y, clip_z, clip_w);
    var out: VertexOut;
    out.clip = clip_from_camera * vec4<f32>(position, 1.0);
    let opacity = color.a;
    // Premultiplied, so the CPU composite is one multiply-add per channel.
    out.color = vec4<f32>(shade(position, normal, color.rgb) * opacity, opacity);
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    return in.color;
}
