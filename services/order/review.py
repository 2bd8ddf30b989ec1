"""Intake and review: an order is taken in, checked against the masters, questioned, reviewed by each
department, and only then accepted (with a confirmed date per line) or rejected."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import col, or_, select

from services.order import board, domain, files, milestones, tasks, tracking
from services.order.models import (
    Clarification,
    Customer,
    Department,
    Exposure,
    Order,
    OrderVersion,
    Product,
    Review,
    TimelineEntry,
)
from shared.contracts import (
    Envelope,
    ErpOrder,
    Event,
    LineDates,
    OrderAccepted,
    OrderChangeAccepted,
    OrderRejected,
    OrderReviewRequested,
    OrderTerms,
    ProductionFeasibilityAssessed,
    ReceivablesChanged,
)
from shared.errors import Invalid, NotFound
from shared.fields import scrub
from shared.ids import new_id
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule

AUTOMATIC = "review"  # who asked the questions the checks raise


class OrderConflict(Invalid):
    """The customer's order number is already taken by an order with other terms."""


class OrderRefused(Invalid):
    """The order cannot be taken in as stated."""


class NotInReview(Invalid):
    """The order is not (or no longer) under review."""


def record(uow: UnitOfWork, event: Envelope) -> None:
    """Put an event on its order's timeline."""
    uow.session.add(
        TimelineEntry(
            order_id=event.order_id,
            event_id=str(event.id),
            type=event.type,
            source=event.source,
            occurred_at=event.occurred_at,
            data=event.data,
        )
    )


async def take_in(terms: OrderTerms, uow: UnitOfWork, *, by: str) -> tuple[Order, bool]:
    """Take an order in and start its review; the same customer order number again returns the first order."""
    query = select(Order).where(Order.customer == terms.customer, Order.external_ref == terms.external_ref)
    if existing := (await uow.session.exec(query)).first():
        first = await uow.get(OrderVersion, (existing.id, 1))
        if OrderTerms.model_validate(first.terms if first else existing.terms) != terms:
            raise OrderConflict(f"order {terms.external_ref} of {terms.customer} exists with other terms")
        return existing, False
    now = uow.clock.now()
    if problem := domain.intake_problem(terms, today=now.date()):
        raise OrderRefused(problem)
    order = Order(
        id=new_id("SO"),
        customer=terms.customer,
        external_ref=terms.external_ref,
        currency=terms.currency,
        delivery_date=terms.delivery_date,
        total_amount=terms.compute_total(),
        terms=terms.model_dump(mode="json"),
        status=domain.OrderStatus.IN_REVIEW,
        version=1,
        search=tracking.search_text(terms),
        created_at=now,
        updated_at=now,
    )
    uow.session.add(order)
    _version(uow, order, terms, reason="taken in", by=by)
    await _review(order, terms, uow, by=by)
    return order, True


async def on_erp_order(message: ErpOrder, uow: UnitOfWork) -> None:
    """An order from an ERP system takes the same path as one posted over HTTP."""
    terms = OrderTerms.model_validate(message.model_dump(include=set(OrderTerms.model_fields)))
    await take_in(terms, uow, by="erp")


def _version(
    uow: UnitOfWork, order: Order, terms: OrderTerms, *, reason: str, by: str, change_id: str | None = None
) -> None:
    uow.session.add(
        OrderVersion(
            order_id=order.id,
            version=order.version,
            terms=terms.model_dump(mode="json"),
            total_amount=terms.compute_total(),
            reason=scrub(reason, 2000),
            change_id=change_id,
            created_at=uow.clock.now(),
            created_by=scrub(by, 200),
        )
    )


async def _review(order: Order, terms: OrderTerms, uow: UnitOfWork, *, by: str) -> None:
    """Run the automatic checks, open a review per active department, ask production; decide if all is clear."""
    now = uow.clock.now()
    questions = domain.review_questions(terms, await _products(uow, terms), today=now.date())
    for question in questions:
        ask(uow, order, question, by=AUTOMATIC)
    departments = [
        d.name for d in await uow.all(select(Department).where(col(Department.active)).order_by(col(Department.name)))
    ]
    decisions = []
    for name in departments:
        review = Review(
            order_id=order.id,
            department=name,
            order_version=order.version,
            decision=domain.Decision.PENDING,
            requested_at=now,
            deadline=now + domain.REVIEW_DEADLINE,
        )
        if name == "finance":
            await _credit(review, order, uow)
        uow.session.add(review)
        decisions.append(review.decision)
    requested = OrderReviewRequested(
        **terms.model_dump(), total_amount=order.total_amount, order_version=order.version, departments=departments
    )
    record(uow, uow.emit(requested, order_id=order.id))
    if domain.verdict(decisions, len(questions)) != domain.Decision.PENDING:  # else decide() would wait too
        await decide(order, uow)


async def _products(uow: UnitOfWork, terms: OrderTerms) -> dict[str, domain.ProductFacts]:
    """The master entries an order's lines could mean, keyed by lower-case SKU and name."""
    keys = {k.lower() for line in terms.lines for k in (line.sku, line.product) if k}
    query = select(Product).where(
        col(Product.active), or_(func.lower(Product.sku).in_(keys), func.lower(Product.name).in_(keys))
    )
    found: dict[str, domain.ProductFacts] = {}
    for p in await uow.all(query):
        facts = domain.ProductFacts(
            sku=p.sku,
            name=p.name,
            unit=p.unit,
            list_price=p.list_price,
            currency=p.currency,
            lead_time_days=p.lead_time_days,
            price_tolerance_percent=p.price_tolerance_percent,
        )
        found[p.sku.lower()] = found[p.name.lower()] = facts
    return found


async def _credit(review: Review, order: Order, uow: UnitOfWork) -> None:
    """Finance decides by itself when the order fits the customer's credit; else a person in finance does."""
    customer = await uow.get(Customer, order.customer)
    facts = (
        domain.CustomerFacts(customer.name, customer.credit_limit, customer.currency)
        if customer and customer.active
        else None
    )
    exposure = await uow.get(Exposure, (order.customer, order.currency))
    decision, reason = domain.credit_review(
        facts,
        open_amount=exposure.open_amount if exposure else Decimal(0),
        overdue_amount=exposure.overdue_amount if exposure else Decimal(0),
        total=order.total_amount,
        currency=order.currency,
    )
    review.decision, review.reason = decision, reason
    if decision != domain.Decision.PENDING:
        review.decided_by, review.decided_at = "finance (automatic)", uow.clock.now()


def ask(
    uow: UnitOfWork, order: Order, question: domain.Question, *, by: str, deadline: datetime | None = None
) -> Clarification:
    """Put a question to the customer; the order waits for the written answer."""
    now = uow.clock.now()
    clarification = Clarification(
        id=new_id("CQ"),
        order_id=order.id,
        order_version=order.version,
        code=question.code,
        field=question.field,
        question=scrub(question.question, 2000),
        raised_by=scrub(by, 200),
        raised_at=now,
        deadline=deadline or now + domain.CLARIFICATION_DEADLINE,
    )
    uow.session.add(clarification)
    return clarification


async def decide(order: Order, uow: UnitOfWork) -> None:
    """Accept the order once every department approved and every question is answered; reject on any no."""
    if order.status != domain.OrderStatus.IN_REVIEW:
        return
    reviews = await uow.all(select(Review).where(Review.order_id == order.id))
    questions = await uow.all(select(Clarification).where(Clarification.order_id == order.id, col(Clarification.open)))
    verdict = domain.verdict([r.decision for r in reviews], len(questions))
    if verdict == domain.Decision.PENDING:
        return
    now = uow.clock.now()
    order.decided_at = order.updated_at = now
    if verdict == domain.Decision.REJECTED:
        order.status = domain.OrderStatus.REJECTED
        reasons = [scrub(f"{r.department}: {r.reason}", 500) for r in reviews if r.decision == domain.Decision.REJECTED]
        await announce(uow, order, uow.emit(OrderRejected(reasons=reasons), order_id=order.id))
        return
    terms = OrderTerms.model_validate(order.terms)
    confirmed = _confirmed(terms, reviews)
    order.status = domain.OrderStatus.ACCEPTED
    order.confirmed_date = max(c.confirmed_date for c in confirmed)
    accepted = OrderAccepted(
        **terms.model_dump(), total_amount=order.total_amount, order_version=order.version, confirmed=confirmed
    )
    await announce(uow, order, uow.emit(accepted, order_id=order.id))


async def announce(uow: UnitOfWork, order: Order, event: Envelope) -> None:
    """An event of the order itself: on its timeline, and to the customer's milestone webhooks; an accepted
    order (or version of it) gets its confirmation filed, and on first acceptance its tasks."""
    record(uow, event)
    await milestones.stage_milestone(uow, order, event)
    if event.type in (OrderAccepted.event_type, OrderChangeAccepted.event_type):
        files.file_confirmation(uow, order)
    if event.type == OrderAccepted.event_type:
        await tasks.create_for(uow, order)


def _confirmed(terms: OrderTerms, reviews: list[Review]) -> list[LineDates]:
    """Production's confirmed date per line when it reviewed; else the requested date."""
    by_line = {c["line_no"]: c for r in reviews if r.department == "production" for c in r.confirmed}
    dates = []
    for line in terms.lines:
        wanted = line.requested_date or terms.delivery_date
        confirmed = by_line.get(line.line_no, {}).get("confirmed_date") or wanted.isoformat()
        dates.append(LineDates(line_no=line.line_no, requested_date=wanted, confirmed_date=confirmed))
    return dates


async def on_feasibility(event: Event[ProductionFeasibilityAssessed], uow: UnitOfWork) -> None:
    """Production's feasibility is its review: confirmed dates per line, and a question where it is later."""
    order = await uow.require(Order, event.order_id, why="feasibility for an order not taken in yet", lock=True)
    record(uow, event.envelope)
    review = await uow.get(Review, (order.id, "production"), lock=True)
    if review is None or order.status != domain.OrderStatus.IN_REVIEW or event.data.order_version != order.version:
        return  # an answer about a version since amended, or production does not review: history only
    terms = OrderTerms.model_validate(order.terms)
    confirmed, questions = domain.production_review(terms, event.data)
    review.confirmed = [c.model_dump(mode="json") for c in confirmed]
    review.decision, review.decided_by, review.decided_at = domain.Decision.APPROVED, "production", uow.clock.now()
    review.reason = "feasible later than requested" if questions else scrub(event.data.note, 2000) or "feasible"
    for question in questions:
        ask(uow, order, question, by="production")
    await decide(order, uow)


async def on_receivables(event: Event[ReceivablesChanged], uow: UnitOfWork) -> None:
    """Keep the customer's open receivables as billing publishes them, for the credit review."""
    data = event.data
    exposure = await uow.get(Exposure, (data.customer, data.currency), lock=True)
    if exposure is None:
        exposure = Exposure(
            customer=data.customer,
            currency=data.currency,
            open_amount=Decimal(0),
            overdue_amount=Decimal(0),
            as_of=event.occurred_at,
        )
        uow.session.add(exposure)
    if event.occurred_at >= exposure.as_of:  # an older report arriving late changes nothing
        exposure.open_amount, exposure.overdue_amount = data.open_amount, data.overdue_amount
        exposure.as_of = event.occurred_at


# --- what people do in review -------------------------------------------------------------------------


async def _in_review(uow: UnitOfWork, order_id: str) -> Order:
    order = await uow.get(Order, order_id, lock=True)
    if order is None:
        raise NotFound(order_id)
    if order.status != domain.OrderStatus.IN_REVIEW:
        raise NotInReview(f"order {order_id} is {order.status}, not in review")
    return order


async def decide_review(
    uow: UnitOfWork, order_id: str, department: str, *, approve: bool, reason: str, by: str
) -> Review:
    """A person's decision for a department (finance over the credit limit, quality, sales...)."""
    order = await _in_review(uow, order_id)
    review = await uow.get(Review, (order_id, department), lock=True)
    if review is None:
        raise NotFound(f"{order_id}/{department}")
    review.decision = domain.Decision.APPROVED if approve else domain.Decision.REJECTED
    review.reason, review.decided_by, review.decided_at = scrub(reason, 2000), scrub(by, 200), uow.clock.now()
    await board.resolve_own(
        uow,
        order_id=order_id,
        kind_name="order.review_overdue",
        subject_type="order",
        subject_id=f"{order_id}/{department}",
        reason=f"{department} decided",
        by=by,
    )
    await decide(order, uow)
    return review


async def ask_customer(
    uow: UnitOfWork, order_id: str, *, question: str, field: str, by: str, deadline: datetime | None
) -> Clarification:
    """A merchandiser's own question to the customer; the order waits for it too."""
    order = await _in_review(uow, order_id)
    return ask(uow, order, domain.Question("asked", field, question), by=by, deadline=deadline)


async def answer(uow: UnitOfWork, order_id: str, clarification_id: str, *, text: str, by: str) -> Clarification:
    """Record the customer's written answer; the last answer lets review decide."""
    order = await _in_review(uow, order_id)
    clarification = await uow.get(Clarification, clarification_id, lock=True)
    if clarification is None or clarification.order_id != order_id:
        raise NotFound(clarification_id)
    if not clarification.open:
        raise NotInReview(
            f"clarification {clarification_id} was answered on {clarification.answered_at:%Y-%m-%d %H:%M}"
        )
    _close(clarification, text, by=by, at=uow.clock.now())
    await board.resolve_own(
        uow,
        order_id=order_id,
        kind_name="order.clarification_overdue",
        subject_type="order",
        subject_id=clarification_id,
        reason="answered",
        by=by,
    )
    await decide(order, uow)
    return clarification


def _close(clarification: Clarification, text: str, *, by: str, at: datetime) -> None:
    clarification.open = False
    clarification.answer, clarification.answered_by, clarification.answered_at = scrub(text, 4000), scrub(by, 200), at


async def amend(uow: UnitOfWork, order_id: str, terms: OrderTerms, *, reason: str, by: str) -> Order:
    """New terms during review (the customer's corrected order): a new version, reviewed afresh."""
    order = await _in_review(uow, order_id)
    if (terms.customer, terms.external_ref) != (order.customer, order.external_ref):
        raise NotInReview("an amendment keeps the customer and their order number")
    if problem := domain.intake_problem(terms, today=uow.clock.now().date()):
        raise OrderRefused(problem)
    now = uow.clock.now()
    for open_question in await uow.all(
        select(Clarification).where(Clarification.order_id == order_id, col(Clarification.open)), lock=True
    ):
        _close(open_question, f"superseded by version {order.version + 1}", by=by, at=now)
        await board.resolve_own(
            uow,
            order_id=order_id,
            kind_name="order.clarification_overdue",
            subject_type="order",
            subject_id=open_question.id,
            reason="order amended",
            by=by,
        )
    for review in await uow.all(select(Review).where(Review.order_id == order_id), lock=True):
        await uow.session.delete(review)
    await uow.session.flush()  # the deletes first: the new version's reviews have the same keys
    order.version += 1
    order.terms, order.currency, order.delivery_date = (
        terms.model_dump(mode="json"),
        terms.currency,
        terms.delivery_date,
    )
    order.total_amount, order.search, order.updated_at = terms.compute_total(), tracking.search_text(terms), now
    _version(uow, order, terms, reason=reason, by=by)
    await _review(order, terms, uow, by=by)
    return order


async def reject(uow: UnitOfWork, order_id: str, *, reason: str, by: str) -> Order:
    """The merchandiser turns the order down (the customer would not accept the possible date, say)."""
    order = await _in_review(uow, order_id)
    now = uow.clock.now()
    order.status, order.decided_at, order.updated_at = domain.OrderStatus.REJECTED, now, now
    await announce(uow, order, uow.emit(OrderRejected(reasons=[scrub(f"{by}: {reason}", 500)]), order_id=order.id))
    return order


# --- watch rules --------------------------------------------------------------------------------------


def overdue_clarifications() -> Rule:
    """Watch rule: a question unanswered past its deadline is an exception for the merchandiser."""

    async def overdue_clarifications(uow: UnitOfWork) -> None:
        now = uow.clock.now()
        query = select(Clarification).where(col(Clarification.open), col(Clarification.deadline) < now)
        for c in await uow.all(query):
            await board.raise_own(
                uow,
                order_id=c.order_id,
                kind_name="order.clarification_overdue",
                subject_type="order",
                subject_id=c.id,
                title=f"Question on order {c.order_id} unanswered since {c.raised_at:%Y-%m-%d %H:%M} UTC: {c.question}"[
                    :1000
                ],
                facts={"field": c.field, "code": c.code, "deadline": c.deadline.isoformat()},
            )

    return overdue_clarifications


def overdue_reviews() -> Rule:
    """Watch rule: a department that has not decided by the review deadline."""

    async def overdue_reviews(uow: UnitOfWork) -> None:
        now = uow.clock.now()
        query = select(Review).where(Review.decision == domain.Decision.PENDING, col(Review.deadline) < now)
        for r in await uow.all(query):
            await board.raise_own(
                uow,
                order_id=r.order_id,
                kind_name="order.review_overdue",
                subject_type="order",
                subject_id=f"{r.order_id}/{r.department}",
                title=f"{r.department} has not reviewed order {r.order_id} (due {r.deadline:%Y-%m-%d %H:%M} UTC)"
                + (f": {r.reason}" if r.reason else ""),
                facts={"department": r.department, "deadline": r.deadline.isoformat()},
            )

    return overdue_reviews
