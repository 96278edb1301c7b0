"""Renders one frame of an animation exported by `hmr2-launch export` with Blender's
Workbench engine through the exported camera, and writes the silhouette (alpha > 0.5) as
raw bytes, one per pixel (0 or 1), rows from the top.

    blender -b --factory-startup --python silhouette.py -- FILE.glb OUT.png OUT.mask FPS TIME WIDTH HEIGHT
"""
import sys

import numpy

# Debian's Blender 3.4 glTF importer still uses numpy.bool, which numpy 1.24 removed.
if not hasattr(numpy, "bool"):
    numpy.bool = bool

import bpy  # noqa: E402

argv = sys.argv[sys.argv.index("--") + 1:]
path, png, mask_path = argv[0], argv[1], argv[2]
fps, time, width, height = float(argv[3]), float(argv[4]), int(argv[5]), int(argv[6])

bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = round(fps)
scene.render.fps_base = round(fps) / fps
scene.render.resolution_x = width
scene.render.resolution_y = height
scene.render.resolution_percentage = 100
bpy.ops.import_scene.gltf(filepath=path)

scene.camera = next(o for o in scene.objects if o.type == "CAMERA")
scene.render.engine = "BLENDER_WORKBENCH"
scene.display.shading.light = "FLAT"
scene.display.shading.color_type = "SINGLE"
scene.display.shading.single_color = (1.0, 1.0, 1.0)
scene.display.render_aa = "OFF"
scene.render.film_transparent = True
scene.view_settings.view_transform = "Standard"
scene.render.image_settings.file_format = "PNG"
scene.render.image_settings.color_mode = "RGBA"
scene.render.filepath = png

frame = time * fps
whole = int(numpy.floor(frame + 1e-6))
scene.frame_set(whole, subframe=max(0.0, frame - whole))
bpy.ops.render.render(write_still=True)

image = bpy.data.images.load(png)
pixels = numpy.array(image.pixels[:], dtype=numpy.float32).reshape(height, width, 4)
mask = (pixels[::-1, :, 3] > 0.5).astype(numpy.uint8)
mask.tofile(mask_path)
