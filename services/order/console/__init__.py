"""The merchandiser's console: server-rendered pages over the order service's read models (and the other
services' HTTP APIs), live over server-sent events, in Chinese and English; and the customer's tracking link.

Routes: `views.router` (/console/..., for signed-in staff) and `track.public` (/track/{token}, public)."""
