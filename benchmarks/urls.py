"""The benchmark's URLs: the project's own, plus the minimal view the pages are compared
with (benchmarks/floors.py), so that both go through the same middleware stack."""

from django.urls import include, path

from benchmarks.floors import floor_view

urlpatterns = [
    path("__bench__/floor/", floor_view, name="bench_floor"),
    path("", include("config.urls")),
]
