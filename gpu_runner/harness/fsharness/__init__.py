"""The grading harness's modules (standard library only). They run inside the sandbox; runner.py
imports them before any learner code and then removes them from `sys.modules` and `sys.path`, so
`import api` in a learner's file never reaches them."""
