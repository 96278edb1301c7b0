"""What picture.py and silhouette.py share: Blender set up for an exported animation, the
glTF imported, its camera active, Workbench rendering to a transparent RGBA PNG, and the
render of one moment of the animation."""
import numpy

# Debian's Blender 3.4 glTF importer still uses numpy.bool, which numpy 1.24 removed.
if not hasattr(numpy, "bool"):
    numpy.bool = bool

import bpy  # noqa: E402


def empty_blender():
    """Blender's factory settings with an empty scene (what was loaded before is gone)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)


def import_animation(path, fps, width, height):
    """The scene, `width` x `height` at `fps`, with the glTF at `path` imported and its
    camera active, rendering with Workbench to transparent RGBA PNG."""
    scene = bpy.context.scene
    scene.render.fps = round(fps)
    scene.render.fps_base = round(fps) / fps
    scene.render.resolution_x = width
    scene.render.resolution_y = height
    scene.render.resolution_percentage = 100
    bpy.ops.import_scene.gltf(filepath=path)
    scene.camera = next(o for o in scene.objects if o.type == "CAMERA")
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.film_transparent = True
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    return scene


def render_at(scene, png, fps, time):
    """Renders the moment `time` seconds in (between frames: a subframe) to `png`."""
    scene.render.filepath = png
    frame = time * fps
    whole = int(numpy.floor(frame + 1e-6))
    scene.frame_set(whole, subframe=max(0.0, frame - whole))
    bpy.ops.render.render(write_still=True)
