# IPython kernel configuration for `make lab` only (the Makefile points IPYTHONDIR here).
#
# Papermill, nbval and the DVC pipeline never see this file: their kernels start with the
# default IPython folder, so pipeline runs stay free of autoreload and byte-identical.
# In JupyterLab, edits to src/analysis are picked up by the open notebooks without
# restarting the kernel.
c = get_config()  # noqa: F821

c.InteractiveShellApp.extensions = ["autoreload"]
c.InteractiveShellApp.exec_lines = ["%autoreload 2"]
