"""The one sentence encoder (all-MiniLM-L6-v2, local files only) that NLU, knowledge and CRM share.

`sentence` runs the ONNX export with no torch (both venvs); `embedding` wraps it, or
sentence-transformers, behind one `Embedder` protocol; `export` makes the ONNX files.
"""
