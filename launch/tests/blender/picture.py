"""Renders one frame of an exported animation with Blender (Workbench, studio light, the
tracks' material colours) through the exported camera and lays it over the video frame:
the picture of the launch README.

    blender -b --factory-startup --python picture.py -- FILE.glb FRAME.png OUT.png FPS TIME
"""

import os
import sys

import numpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpy  # noqa: E402
from scene import empty_blender, import_animation, render_at  # noqa: E402

argv = sys.argv[sys.argv.index("--") + 1:]
path, background_png, out_png = argv[0], argv[1], argv[2]
fps, time = float(argv[3]), float(argv[4])

empty_blender()
background = bpy.data.images.load(background_png)
width, height = background.size
scene = import_animation(path, fps, width, height)
scene.display.shading.light = "STUDIO"
scene.display.shading.color_type = "MATERIAL"
scene.display.shading.show_cavity = True
render_png = out_png + ".render.png"
render_at(scene, render_png, fps, time)

render = numpy.array(bpy.data.images.load(render_png).pixels[:], dtype=numpy.float32).reshape(height, width, 4)
under = numpy.array(background.pixels[:], dtype=numpy.float32).reshape(height, width, 4)
alpha = render[:, :, 3:4]
over = render[:, :, :3] * alpha + under[:, :, :3] * (1.0 - alpha)
result = bpy.data.images.new("picture", width, height, alpha=False)
result.pixels[:] = numpy.concatenate([over, numpy.ones_like(alpha)], axis=2).ravel()
result.filepath_raw = out_png
result.file_format = "PNG"
result.save()
