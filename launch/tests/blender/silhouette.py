"""Renders one frame of an animation exported by `hmr2-launch export` with Blender's
Workbench engine through the exported camera, and writes the silhouette (alpha > 0.5) as
raw bytes, one per pixel (0 or 1), rows from the top.

    blender -b --factory-startup --python silhouette.py -- FILE.glb OUT.png OUT.mask FPS TIME WIDTH HEIGHT
"""

import os
import sys

import numpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpy  # noqa: E402
from scene import empty_blender, import_animation, render_at  # noqa: E402

argv = sys.argv[sys.argv.index("--") + 1:]
path, png, mask_path = argv[0], argv[1], argv[2]
fps, time, width, height = float(argv[3]), float(argv[4]), int(argv[5]), int(argv[6])

empty_blender()
scene = import_animation(path, fps, width, height)
scene.display.shading.light = "FLAT"
scene.display.shading.color_type = "SINGLE"
scene.display.shading.single_color = (1.0, 1.0, 1.0)
scene.display.render_aa = "OFF"
render_at(scene, png, fps, time)

image = bpy.data.images.load(png)
pixels = numpy.array(image.pixels[:], dtype=numpy.float32).reshape(height, width, 4)
mask = (pixels[::-1, :, 3] > 0.5).astype(numpy.uint8)
mask.tofile(mask_path)
