"""Imports an animation exported by `hmr2-launch export` into Blender and writes the world
positions of every bone's head (the joints) at the requested times, as JSON.

    blender -b --factory-startup --python joints.py -- FILE OUT.json FPS TIME [TIME ...]

FILE is a .glb/.gltf (every armature, keyed by the skinned mesh object's name, e.g. "track 3")
or a .bvh (one armature, keyed "bvh"). Times are seconds on the file's timeline; the glTF
importer puts time t at frame t·FPS (plus the first frame it reports), the BVH importer
frame k of the motion at scene frame 1 + k. Positions are in Blender's world (z up).
"""
import json
import sys

import numpy

# Debian's Blender 3.4 glTF importer still uses numpy.bool, which numpy 1.24 removed.
if not hasattr(numpy, "bool"):
    numpy.bool = bool

import bpy  # noqa: E402

argv = sys.argv[sys.argv.index("--") + 1:]
path, out, fps = argv[0], argv[1], float(argv[2])
times = [float(t) for t in argv[3:]]

bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = round(fps)
scene.render.fps_base = round(fps) / fps

if path.lower().endswith(".bvh"):
    # Debian's Blender 3.4 BVH importer opens the file with mode "rU", which its Python 3.11
    # no longer accepts: give the module an open() that drops the "U".
    import builtins
    from io_anim_bvh import import_bvh

    def _open(file, mode="r", *args, **kwargs):
        return builtins.open(file, mode.replace("U", ""), *args, **kwargs)

    import_bvh.open = _open
    bpy.ops.import_anim.bvh(filepath=path, axis_forward="-Z", axis_up="Y", frame_start=1, use_fps_scale=False,
                            update_scene_fps=False, update_scene_duration=True, global_scale=1.0)
    armatures = {"bvh": next(o for o in scene.objects if o.type == "ARMATURE")}
else:
    bpy.ops.import_scene.gltf(filepath=path)
    armatures = {}
    for obj in scene.objects:
        if obj.type == "MESH":
            arm = obj.find_armature()
            if arm is not None:
                armatures[obj.name] = arm

result = {"blender": bpy.app.version_string, "armatures": {}}
for name, arm in armatures.items():
    action = arm.animation_data.action if arm.animation_data else None
    frame_range = list(action.frame_range) if action else None
    result["armatures"][name] = {"bones": [b.name for b in arm.pose.bones], "action_frame_range": frame_range,
                                 "action": action.name if action else None, "frames": []}

for t in times:
    if path.lower().endswith(".bvh"):
        frame = 1.0 + t * fps
    else:
        frame = t * fps
    whole = int(numpy.floor(frame + 1e-6))
    scene.frame_set(whole, subframe=max(0.0, frame - whole))
    for name, arm in armatures.items():
        heads = {b.name: list(arm.matrix_world @ b.head) for b in arm.pose.bones}
        result["armatures"][name]["frames"].append({"time": t, "frame": frame, "heads": heads})

with open(out, "w") as f:
    json.dump(result, f)
