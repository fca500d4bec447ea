import subprocess
import sys


def test_import_seglab_stays_light():
    code = (
        "import sys, seglab; heavy = [m for m in ('cv2', 'skimage', 'scipy', 'torch', 'matplotlib', 'PIL') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_public_api_is_lazy_but_complete():
    import seglab

    for name in ("segment", "methods", "load_image", "save_image", "Segmentation", "InputError", "FormatError"):
        assert getattr(seglab, name) is not None
    assert seglab.InputError.__mro__[1].__name__ == "SeglabError"
    assert issubclass(seglab.InputError, ValueError)


def test_cli_start_up_imports_no_heavy_package():
    code = (
        "import sys, seglab.cli.main; heavy = [m for m in ('torch', 'fastapi', 'sqlalchemy', 'distributed', "
        "'cv2', 'skimage', 'onnxruntime', 'matplotlib') if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
