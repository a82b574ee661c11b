"""`python manage.py tutor eval`: the tutor scenario suite (tutor/eval/scenarios.toml).

tutor eval                                  replay recorded replies (CI) through a local
                                            OpenAI-compatible endpoint and the real openai client
tutor eval --offline                        the no-model tutor on the same suite
tutor eval --suite recorded|leaky           only the recorded scenarios, or only the leaking model's
tutor eval --base-url URL --model M [--api-key K] [--record]
                                            a live endpoint; --record saves its replies
tutor check                                 which endpoint each published course's tutor uses,
                                            and what is missing (a course's key variable)
"""

from django.core.management.base import BaseCommand, CommandError

from courses.models import Course


class Command(BaseCommand):
    help = "Evaluate the tutor: leaks, mistake location, citations, canary, off-topic, quota."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("eval")
        p.add_argument("--course", default="zero-to-gpt")
        p.add_argument("--offline", action="store_true")
        p.add_argument("--base-url", default="")
        p.add_argument("--model", default="")
        p.add_argument("--api-key", default="")
        p.add_argument("--record", action="store_true")
        p.add_argument("--case", default=None)
        p.add_argument(
            "--suite",
            choices=["all", "recorded", "leaky"],
            default="all",
            help="recorded: the scenarios of scenarios.toml; leaky: the leaking model's cases (replay only)",
        )
        sub.add_parser("check")

    def handle(self, *args, action, **options):
        if action == "check":
            return self.check()
        from tutor.eval.fake_openai import FakeOpenAI
        from tutor.eval.runner import Evaluator, format_summary, load_cases, replay_responder

        course = Course.objects.filter(slug=options["course"]).select_related("published_version").first()
        if course is None or course.published_version is None:
            raise CommandError(
                f"course {options['course']!r} is not imported and published (manage.py course import PATH --publish)"
            )
        cases = load_cases(options["case"])
        if options["suite"] != "all":
            cases = [c for c in cases if bool(c.get("scripted")) == (options["suite"] == "leaky")]
        if not cases:
            raise CommandError(f"no scenario {options['case']!r}")
        if options["offline"]:
            mode = "offline"
        elif options["base_url"] or options["model"]:
            if not (options["base_url"] and options["model"]):
                raise CommandError("a live evaluation needs both --base-url and --model")
            mode = "live"
        else:
            mode = "replay"
        self.stdout.write(f"tutor eval: {len(cases)} cases, provider {mode}")
        evaluator = Evaluator(
            course=course,
            provider=mode,
            base_url=options["base_url"],
            model=options["model"],
            api_key=options["api_key"],
            record=options["record"],
            echo=self.stdout.write,
        )
        if mode == "replay":
            with FakeOpenAI(replay_responder(evaluator.cassettes, evaluator.scripted)) as server:
                evaluator.base_url = server.base_url
                results, summary = evaluator.run(cases)
        else:
            results, summary = evaluator.run(cases)
        self.stdout.write("\n" + format_summary(summary))
        self.summary, self.results = summary, results
        if (
            summary["leak_shown"][0]
            or summary["canary_shown"][0]
            or summary["streamed_clean"][0] < summary["streamed_clean"][1]
            or summary["citations_valid"][0] < summary["citations_valid"][1]
            or not summary["quota"]
        ):
            raise CommandError(
                "the tutor showed (or streamed) a leak or the canary, or an invalid citation, or the quota misbehaved"
            )

    def check(self):
        from tutor.services.providers import config_for

        problems = 0
        for course in Course.objects.exclude(published_version=None).select_related("published_version"):
            config = config_for(course)
            if config.problem:
                problems += 1
                self.stdout.write(f"{course.slug}: PROBLEM: {config.problem}; learners get the offline tutor")
            elif config.model and (config.base_url or config.api_key):
                where = config.base_url or "the provider's default URL"
                self.stdout.write(f"{course.slug}: model {config.model} at {where}")
            else:
                self.stdout.write(f"{course.slug}: offline tutor (no model configured)")
        if problems:
            raise CommandError(f"{problems} course(s) cannot reach their own tutor endpoint")
