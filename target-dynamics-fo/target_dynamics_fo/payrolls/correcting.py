"""Correcting a payroll that stands in Dynamics with other content: the next correction step,
dated, staged for approval or posted (the I/O of ``corrector.py`` driven for one payroll)."""

from __future__ import annotations

from datetime import date

from target_dynamics_fo import audit as outcomes
from target_dynamics_fo.fo import ODataError, odata_literal
from target_dynamics_fo.ledger import (
    DimensionFormat,
    DimensionFormatError,
    Journal,
    ledger_display_value,
)
from target_dynamics_fo.mapping import CompanyMapping
from target_dynamics_fo.payrolls.base import (
    APPROVE_FIX,
    FISCAL_PERIOD_ENTITY,
    LOGGER,
    Original,
    ProcessorBase,
)
from target_dynamics_fo.payrolls.correction import (
    cancelled_state_hash,
    first_open_day,
    plan_difference,
    plan_digest,
)
from target_dynamics_fo.payrolls.corrector import (
    Chain,
    Correction,
    CorrectionError,
)
from target_dynamics_fo.posting import PostResult


class CorrectingProcessor(ProcessorBase):
    """The correction half of :class:`~target_dynamics_fo.payrolls.processor.PayrollProcessor`."""

    def _correct(  # noqa: PLR0917
        self,
        original: Original,
        company: CompanyMapping,
        template: Journal,
        current: Journal | None,
        label: str,
        hint: str,
    ) -> PostResult:
        """Post the next correction step of a payroll that stands in Dynamics, exactly once."""
        payroll_uuid = template.payroll_uuid
        fmt = self.dimension_format()
        chain = self.corrector.chain(
            company, payroll_uuid, original.legal_entity, original.number, original.header
        )
        target = current.content_hash if current is not None else None
        target = target or cancelled_state_hash(payroll_uuid)
        if chain.state and target.startswith(chain.state):
            self.audit.correction_posted(payroll_uuid, target)
            result = self.corrector.finish(
                chain,
                company.company_uuid,
                payroll_uuid,
                outcomes.ALREADY_POSTED,
                f"{label}: Dynamics already holds its current content (journal "
                f"{original.number} and {chain.next_sequence - 1} correction(s))",
                None,
            )
        elif chain.cancelled:
            result = self.corrector.finish(
                chain,
                company.company_uuid,
                payroll_uuid,
                outcomes.REFUSED,
                f"{label} was reversed in Dynamics as cancelled in Gusto, and Gusto now lists "
                "it as processed again; it was NOT posted again",
                f"check the payroll in Gusto; post it by hand if it really stands, {hint}",
            )
        else:
            try:
                posted = self.corrector.ledger_lines(chain.legal_entity, chain.standing, fmt)
                trans_date = self._correction_date(chain.legal_entity, template.trans_date)
                plan = self.corrector.plan(
                    company, chain, posted, template, current, trans_date=trans_date
                )
            except ODataError as exc:
                if (
                    exc.status is None
                    or exc.status >= 500
                    or exc.status == 429
                    or (exc.entity != FISCAL_PERIOD_ENTITY)
                ):
                    raise  # Dynamics not answering: the payroll stays unsettled, as for any read.
                return self._refuse(
                    payroll_uuid,
                    company.company_uuid,
                    chain.legal_entity,
                    f"{label} changed or was cancelled after journal {original.number} was "
                    f"posted; correction_date is first_open_day but the fiscal periods of "
                    f"{chain.legal_entity} cannot be read ({FISCAL_PERIOD_ENTITY}: {exc}). "
                    "Nothing was posted",
                    "expose the fiscal period status to the integration user, or set "
                    f"correction_date: check_date; {hint}",
                )
            except (CorrectionError, DimensionFormatError, ValueError) as exc:
                return self._refuse(
                    payroll_uuid,
                    company.company_uuid,
                    chain.legal_entity,
                    f"{label} changed or was cancelled after journal {original.number} was "
                    f"posted, and the correction cannot be made: {exc}. Nothing was posted",
                    f"correct the cause named, {hint}",
                )
            if plan is None:
                result = self.corrector.finish(
                    chain,
                    company.company_uuid,
                    payroll_uuid,
                    outcomes.SKIPPED,
                    f"{label} changed after journal {original.number} was posted, but no "
                    "account or dimension amount changed; nothing to correct",
                    None,
                )
            elif self.corrections.approval == "automatic":
                result = self.corrector.post(chain, plan, fmt, company.company_uuid)
            else:
                result = self._approved_or_staged(chain, plan, fmt, company, label)
            if result.outcome in (outcomes.CORRECTED, outcomes.ALREADY_POSTED) and plan:
                self.audit.correction_posted(payroll_uuid, plan.state_hash)
        self._log(result)
        self.summary.results.append(result)
        return result

    def _correction_date(self, legal_entity: str, check_date: date) -> date:
        """The date a correction is posted on (``correction_date``); raises when none can be.

        ``check_date`` posts on the payroll's check date and lets Dynamics refuse a closed
        period (the refusal names the setting). ``first_open_day`` reads the legal entity's
        fiscal periods first and moves the date past a period that is not open.
        """
        if self.corrections.dating == "check_date":
            return check_date
        rows = self.client.get_all(
            FISCAL_PERIOD_ENTITY,
            cross_company=True,
            filter=(
                f"dataAreaId eq {odata_literal(legal_entity.lower())} and "
                f"EndDate ge {check_date.isoformat()}T00:00:00Z"
            ),
        )
        periods = []
        for row in rows:
            try:
                start = date.fromisoformat(str(row.get("StartDate") or "")[:10])
                end = date.fromisoformat(str(row.get("EndDate") or "")[:10])
            except ValueError as exc:
                raise CorrectionError(
                    f"fiscal period {row.get('PeriodName')!r} of {legal_entity} has no readable "
                    f"dates ({FISCAL_PERIOD_ENTITY})"
                ) from exc
            periods.append((start, end, str(row.get("PeriodStatus") or "")))
        day, why = first_open_day(check_date, periods)
        if day is None:
            raise CorrectionError(
                f"correction_date is first_open_day, but in legal entity {legal_entity} {why} "
                f"({FISCAL_PERIOD_ENTITY}); open a period in Dynamics"
            )
        if day != check_date:
            LOGGER.info("correction in %s: %s", legal_entity, why)
        return day

    def _approved_or_staged(
        self,
        chain: Chain,
        plan: Correction,
        fmt: DimensionFormat,
        company: CompanyMapping,
        label: str,
    ) -> PostResult:
        """Post a correction a person approved exactly as planned now; stage any other.

        The plan is built afresh from what Dynamics holds on every run, and posted only when it
        is the very plan that was approved (same digest): numbers, dates, lines and amounts.
        """
        first = plan.documents[0]
        payroll_uuid = first.payroll_uuid
        digest = plan_digest(plan.documents)
        difference = [
            {
                "account": ledger_display_value(account, dict(dims), fmt),
                "amount": amount,
            }
            for (account, dims), amount in sorted(plan_difference(plan.documents).items())
        ]
        documents = [
            {
                "journal_batch_number": doc.journal_batch_number,
                "description": doc.description,
                "trans_date": doc.trans_date.isoformat(),
                "total_debit": doc.total_debit,
                "total_credit": doc.total_credit,
                "lines": [
                    {
                        "line_number": line.line_number,
                        "account": ledger_display_value(line.main_account, line.dimensions, fmt),
                        "debit": line.debit,
                        "credit": line.credit,
                        "text": line.text,
                    }
                    for line in doc.lines
                ],
            }
            for doc in plan.documents
        ]
        status = self.audit.stage_correction(
            payroll_uuid,
            plan.sequence,
            company.company_uuid,
            chain.legal_entity,
            chain.original,
            plan.state_hash,
            digest,
            plan.what,
            documents,
            difference,
        )
        if status == outcomes.STAGE_APPROVED:
            return self.corrector.post(chain, plan, fmt, company.company_uuid)
        names = " + ".join(
            f"{d.description.split(' of ')[0].lower()} {d.journal_batch_number} on "
            f"{d.trans_date.isoformat()}"
            for d in plan.documents
        )
        moves = ", ".join(f"{d['account']} {d['amount']:+}" for d in difference) or "none"
        return self.corrector.finish(
            chain,
            company.company_uuid,
            payroll_uuid,
            outcomes.CORRECTION_STAGED,
            f"{label} {plan.what} after journal {chain.original} was posted: correction "
            f"{plan.sequence} ({names}) is staged for approval, NOT posted; difference per "
            f"account (debit +, credit -): {moves}",
            APPROVE_FIX.format(uuid=payroll_uuid),
        )
