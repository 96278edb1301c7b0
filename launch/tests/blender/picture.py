"""Renders one frame of an exported animation with Blender (Workbench, studio light, the
tracks' material colours) through the exported camera and lays it over the video frame:
the picture of the launch README.

    blender -b --factory-startup --python picture.py -- FILE.glb FRAME.png OUT.png FPS TIME
"""
import sys

import numpy

# Debian's Blender 3.4 glTF importer still uses numpy.bool, which numpy 1.24 removed.
if not hasattr(numpy, "bool"):
    numpy.bool = bool

import bpy  # noqa: E402

argv = sys.argv[sys.argv.index("--") + 1:]
path, background_png, out_png = argv[0], argv[1], argv[2]
fps, time = float(argv[3]), float(argv[4])

bpy.ops.wm.read_factory_settings(use_empty=True)
background = bpy.data.images.load(background_png)
width, height = background.size
scene = bpy.context.scene
scene.render.fps = round(fps)
scene.render.fps_base = round(fps) / fps
scene.render.resolution_x = width
scene.render.resolution_y = height
scene.render.resolution_percentage = 100
bpy.ops.import_scene.gltf(filepath=path)

scene.camera = next(o for o in scene.objects if o.type == "CAMERA")
scene.render.engine = "BLENDER_WORKBENCH"
scene.display.shading.light = "STUDIO"
scene.display.shading.color_type = "MATERIAL"
scene.display.shading.show_cavity = True
scene.render.film_transparent = True
scene.view_settings.view_transform = "Standard"
scene.render.image_settings.file_format = "PNG"
scene.render.image_settings.color_mode = "RGBA"
render_png = out_png + ".render.png"
scene.render.filepath = render_png

frame = time * fps
whole = int(numpy.floor(frame + 1e-6))
scene.frame_set(whole, subframe=max(0.0, frame - whole))
bpy.ops.render.render(write_still=True)

render = numpy.array(bpy.data.images.load(render_png).pixels[:], dtype=numpy.float32).reshape(height, width, 4)
under = numpy.array(background.pixels[:], dtype=numpy.float32).reshape(height, width, 4)
alpha = render[:, :, 3:4]
over = render[:, :, :3] * alpha + under[:, :, :3] * (1.0 - alpha)
result = bpy.data.images.new("picture", width, height, alpha=False)
result.pixels[:] = numpy.concatenate([over, numpy.ones_like(alpha)], axis=2).ravel()
result.filepath_raw = out_png
result.file_format = "PNG"
result.save()
