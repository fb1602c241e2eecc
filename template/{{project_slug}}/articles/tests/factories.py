import factory
from django.utils import timezone

from ...accounts.tests.factories import UserFactory
from ..models import Article, Comment, Tag


class TagFactory(factory.django.DjangoModelFactory[Tag]):
    name = factory.Sequence(lambda n: f"Tag {n}")
    slug = factory.Sequence(lambda n: f"tag-{n}")

    class Meta:
        model = Tag


class ArticleFactory(factory.django.DjangoModelFactory[Article]):
    author = factory.SubFactory(UserFactory)
    title = factory.Faker("sentence", nb_words=5)
    body = factory.Faker("paragraph")

    class Meta:
        model = Article
        skip_postgeneration_save = True

    class Params:
        published = factory.Trait(
            status=Article.Status.PUBLISHED,
            published_at=factory.LazyFunction(timezone.now),
        )

    @factory.post_generation
    def tags(self, create: bool, extracted: list[Tag] | None) -> None:
        if create and extracted:
            self.tags.set(extracted)


class CommentFactory(factory.django.DjangoModelFactory[Comment]):
    article = factory.SubFactory(ArticleFactory, published=True)
    author = factory.SubFactory(UserFactory)
    body = factory.Faker("sentence")

    class Meta:
        model = Comment
