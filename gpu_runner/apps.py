from django.apps import AppConfig


class GpuRunnerConfig(AppConfig):
    name = "gpu_runner"
    verbose_name = "GPU runner"
