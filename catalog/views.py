import logging
from http import HTTPStatus

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from catalog import selectors, services
from catalog.models import Category, Product
from catalog.serializers import (
    CategoryTreeSerializer,
    ProductQuerySerializer,
    ProductSerializer,
    ProductWriteSerializer,
    StaffProductSerializer,
    VariantWriteSerializer,
    product_data,
)
from mithrapay.response_cache import ResponseCache

logger = logging.getLogger(__name__)

KEY_PARAMETER = OpenApiParameter(
    "key",
    str,
    OpenApiParameter.PATH,
    description="The product's id or slug.",
)
VARIANT_PARAMETER = OpenApiParameter("variant_id", int, OpenApiParameter.PATH)


# Whole catalog answers, kept until the catalog changes (every service that
# changes what it shows bumps the version) or CATALOG_CACHE_SECONDS pass.
CATALOG_RESPONSES = ResponseCache(
    namespace="catalog",
    version_key=selectors.CATALOG_VERSION_KEY,
    actions=frozenset({"list", "retrieve"}),
    seconds=lambda: settings.CATALOG_CACHE_SECONDS,
)


class CatalogPermission(BasePermission):
    """Everyone reads; writes need the catalog permission named for the
    action in the view's ``write_permissions``."""

    public_read = True

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        if not (request.user and request.user.is_authenticated):
            return False
        needed = view.write_permissions.get(view.action)
        return bool(needed) and request.user.has_perm(needed)


@extend_schema_view(
    list=extend_schema(
        summary="The active category tree",
        responses=CategoryTreeSerializer(many=True),
    )
)
class CategoryViewSet(viewsets.GenericViewSet):
    pagination_class = None
    serializer_class = CategoryTreeSerializer
    queryset = Category.objects.none()  # for the schema; reads use selectors

    response_cache = CATALOG_RESPONSES

    def list(self, request):
        return self.response_cache.serve(
            request,
            lambda: Response(
                CategoryTreeSerializer(selectors.category_tree(), many=True).data
            ),
        )


@extend_schema_view(
    list=extend_schema(
        summary="Active products with their active variants",
        parameters=[ProductQuerySerializer],
        responses=ProductSerializer(many=True),
    ),
    retrieve=extend_schema(
        summary="One product with its variants",
        parameters=[KEY_PARAMETER],
        responses=ProductSerializer,
    ),
    create=extend_schema(
        summary="Create a product (catalog staff)",
        request=ProductWriteSerializer,
        responses={HTTPStatus.CREATED: StaffProductSerializer},
    ),
    update=extend_schema(
        summary="Replace a product's fields (catalog staff)",
        parameters=[KEY_PARAMETER],
        request=ProductWriteSerializer,
        responses=StaffProductSerializer,
    ),
    partial_update=extend_schema(
        summary="Change some of a product's fields (catalog staff)",
        parameters=[KEY_PARAMETER],
        request=ProductWriteSerializer,
        responses=StaffProductSerializer,
    ),
)
class ProductViewSet(viewsets.GenericViewSet):
    permission_classes = [CatalogPermission]
    serializer_class = ProductSerializer
    queryset = Product.objects.none()  # for the schema; reads use selectors
    lookup_field = "key"
    lookup_value_regex = "[^/]+"
    response_cache = CATALOG_RESPONSES
    write_permissions = {
        "create": "catalog.add_product",
        "update": "catalog.change_product",
        "partial_update": "catalog.change_product",
        "variant_create": "catalog.add_variant",
        "variant_update": "catalog.change_variant",
    }

    def list(self, request):
        return self.response_cache.serve(request, lambda: self._list(request))

    def _list(self, request):
        filters = ProductQuerySerializer.filters_for(request.query_params)
        page = self.paginate_queryset(selectors.ProductRows(filters=filters))
        zone = timezone.get_current_timezone()
        return self.get_paginated_response(
            [product_data(row, zone=zone) for row in page]
        )

    def retrieve(self, request, key: str):
        return self.response_cache.serve(
            request,
            lambda: Response(product_data(selectors.product_row_get(key=key))),
        )

    def create(self, request):
        serializer = ProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data)
        return self._staff_answer(product.pk, HTTPStatus.CREATED)

    def update(self, request, key: str, partial: bool = False):
        product = selectors.product_get_for_staff(key=key)
        serializer = ProductWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        services.product_update(product=product, data=serializer.validated_data)
        return self._staff_answer(product.pk)

    def partial_update(self, request, key: str):
        return self.update(request, key, partial=True)

    @extend_schema(
        summary="Add a variant to a product (catalog staff)",
        parameters=[KEY_PARAMETER],
        request=VariantWriteSerializer,
        responses={HTTPStatus.CREATED: StaffProductSerializer},
    )
    @action(detail=True, methods=["post"], url_path="variants")
    def variant_create(self, request, key: str):
        product = selectors.product_get_for_staff(key=key)
        serializer = VariantWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.variant_create(product=product, data=serializer.validated_data)
        return self._staff_answer(product.pk, HTTPStatus.CREATED)

    @extend_schema(
        summary="Change a variant (catalog staff)",
        parameters=[KEY_PARAMETER, VARIANT_PARAMETER],
        request=VariantWriteSerializer,
        responses=StaffProductSerializer,
    )
    @action(
        detail=True,
        methods=["put", "patch"],
        url_path=r"variants/(?P<variant_id>[0-9]+)",
    )
    def variant_update(self, request, key: str, variant_id: str):
        product = selectors.product_get_for_staff(key=key)
        variant = next(
            (v for v in product.listed_variants if v.pk == int(variant_id)), None
        )
        if variant is None:
            raise Http404
        serializer = VariantWriteSerializer(
            variant, data=request.data, partial=request.method == "PATCH"
        )
        serializer.is_valid(raise_exception=True)
        services.variant_update(variant=variant, data=serializer.validated_data)
        return self._staff_answer(product.pk)

    def _staff_answer(self, product_id: int, status=HTTPStatus.OK) -> Response:
        product = selectors.product_get_for_staff(key=product_id)
        return Response(StaffProductSerializer(product).data, status=status)
