from datetime import timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from blog.models import Post, Tag
from catalog.tests.factories import CategoryFactory, ProductFactory


class StaffFactory(UserFactory):
    is_staff = True


class TagFactory(factory.django.DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Guide {n}")
    slug = factory.Sequence(lambda n: f"guide-{n}")

    class Meta:
        model = Tag


class PostFactory(factory.django.DjangoModelFactory):
    title = factory.Sequence(lambda n: f"How to redeem gift card {n}")
    slug = factory.Sequence(lambda n: f"how-to-redeem-{n}")
    excerpt = "Step by step."
    body = "Open the **store** app and tap *Redeem*."
    status = Post.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    author = factory.SubFactory(StaffFactory)

    class Meta:
        model = Post
        skip_postgeneration_save = True

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)

    @factory.post_generation
    def products(self, create, extracted, **kwargs):
        if create and extracted:
            self.products.set(extracted)


class DraftFactory(PostFactory):
    status = Post.Status.DRAFT
    published_at = None


class ScheduledFactory(PostFactory):
    published_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))


__all__ = [
    "CategoryFactory",
    "PostFactory",
    "ProductFactory",
    "ScheduledFactory",
    "TagFactory",
]
