"""`python manage.py tutor eval`: the tutor scenario suite (tutor/eval/scenarios.toml).

tutor eval                                  replay recorded replies (CI) through a local
                                            OpenAI-compatible endpoint and the real openai client
tutor eval --offline                        the no-model tutor on the same suite
tutor eval --base-url URL --model M [--api-key K] [--record]
                                            a live endpoint; --record saves its replies
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

    def handle(self, *args, action, **options):
        from tutor.eval.fake_openai import FakeOpenAI
        from tutor.eval.runner import Evaluator, format_summary, load_cases, replay_responder

        course = Course.objects.filter(slug=options["course"]).select_related("published_version").first()
        if course is None or course.published_version is None:
            raise CommandError(
                f"course {options['course']!r} is not imported and published (manage.py course import PATH --publish)"
            )
        cases = load_cases(options["case"])
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
            with FakeOpenAI(replay_responder(evaluator.cassettes)) as server:
                evaluator.base_url = server.base_url
                results, summary = evaluator.run(cases)
        else:
            results, summary = evaluator.run(cases)
        self.stdout.write("\n" + format_summary(summary))
        self.summary, self.results = summary, results
        if (
            summary["leak_shown"][0]
            or summary["canary_shown"][0]
            or summary["citations_valid"][0] < summary["citations_valid"][1]
            or not summary["quota"]
        ):
            raise CommandError("the tutor showed a leak, the canary or an invalid citation, or the quota misbehaved")
