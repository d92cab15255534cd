"""The pages of the Streamlit app (`app.py` routes to them): widgets around `circles` calls, no computation.

Page scripts: ``data.py``, ``settings.py``, ``map.py``, ``figures.py``, ``scenarios.py``,
``downloads.py``. Shared widget functions are in ``ui.py``, every label in Chinese and English in
``i18n.py``.
"""
