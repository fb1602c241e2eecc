"""JSON Web Token endpoints, throttled like every other place a password is typed.

SIMPLE_JWT in the settings names their serializers (accounts/serializers.py).
"""

from rest_framework_simplejwt import views

from .throttling import LoginRateThrottle


class TokenObtainPairView(views.TokenObtainPairView):
    throttle_classes = [LoginRateThrottle]


class TokenRefreshView(views.TokenRefreshView):
    throttle_classes = [LoginRateThrottle]
