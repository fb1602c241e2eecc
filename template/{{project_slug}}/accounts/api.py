"""JSON Web Token endpoints, throttled like every other place a password is typed."""

from rest_framework_simplejwt import views

from .throttling import LoginRateThrottle


class TokenObtainPairView(views.TokenObtainPairView):
    throttle_classes = [LoginRateThrottle]


class TokenRefreshView(views.TokenRefreshView):
    throttle_classes = [LoginRateThrottle]
