"""A synthetic telecom-churn table with the shape of the well-known Telco customer churn data.

Columns: ``customerID`` ("7590-VHVEG"), demographics (gender, SeniorCitizen 0/1, Partner,
Dependents), ``tenure`` (months), phone and internet services with "No phone service" /
"No internet service" levels, Contract, PaperlessBilling, PaymentMethod, ``MonthlyCharges``,
``TotalCharges`` stored as TEXT ("1889.50", a blank " " for new customers) and the target
``Churn`` (Yes/No, about 26% Yes).

Churn is drawn from a logistic model with non-linear terms (log tenure, a price bump),
interactions (fibre x month-to-month, tenure x contract) and an unobserved customer effect,
so no model can be perfect and a linear model misses some structure. Seeded: the same
``n`` and ``seed`` give the same table.

    python bench/churn_table.py --rows 7000 --seed 0 --out churn.csv
"""

from __future__ import annotations

import argparse
import string
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_RATE = 0.265


def _choice(rng: np.random.Generator, options: list[str], p: list[float], n: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def _ids(rng: np.random.Generator, n: int) -> list[str]:
    letters = np.array(list(string.ascii_uppercase))
    seen: set[str] = set()
    out = []
    while len(out) < n:
        cid = f"{rng.integers(0, 10000):04d}-{''.join(rng.choice(letters, 5))}"
        if cid not in seen:
            seen.add(cid)
            out.append(cid)
    return out


def make_churn(n: int = 7000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gender = _choice(rng, ["Male", "Female"], [0.505, 0.495], n)
    senior = (rng.random(n) < 0.16).astype(int)
    partner = rng.random(n) < 0.48
    dependents = rng.random(n) < np.where(partner, 0.5, 0.1)
    contract = _choice(rng, ["Month-to-month", "One year", "Two year"], [0.55, 0.21, 0.24], n)
    # tenure depends on contract: long contracts go with long-standing customers
    scale = np.select([contract == "Month-to-month", contract == "One year"], [14.0, 35.0], 55.0)
    tenure = np.clip(np.round(rng.gamma(1.4, scale / 1.4)), 1, 72).astype(int)
    tenure[rng.random(n) < 0.0016] = 0
    phone = rng.random(n) < 0.9
    multiple = np.where(~phone, "No phone service", np.where(rng.random(n) < 0.47, "Yes", "No"))
    internet = _choice(rng, ["DSL", "Fiber optic", "No"], [0.34, 0.44, 0.22], n)
    has_net = internet != "No"
    extras = {}
    for name, p_yes in (("OnlineSecurity", 0.37), ("OnlineBackup", 0.44), ("DeviceProtection", 0.44),
                        ("TechSupport", 0.37), ("StreamingTV", 0.49), ("StreamingMovies", 0.5)):
        p = np.clip(p_yes + 0.004 * (tenure - 30), 0.05, 0.95)
        extras[name] = np.where(~has_net, "No internet service", np.where(rng.random(n) < p, "Yes", "No"))
    paperless = rng.random(n) < np.where(contract == "Month-to-month", 0.67, 0.5)
    payment = np.where(
        contract == "Month-to-month",
        _choice(rng, ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"],
                [0.48, 0.22, 0.15, 0.15], n),
        _choice(rng, ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"],
                [0.15, 0.23, 0.31, 0.31], n))
    n_extras = sum((v == "Yes").astype(int) for v in extras.values())
    monthly = (20.0 * phone + 5.0 * (multiple == "Yes") + np.select([internet == "DSL", internet == "Fiber optic"],
                                                                    [25.0, 50.0], 0.0)
               + 5.0 * n_extras + rng.normal(0, 2.5, n))
    monthly = np.round(np.clip(monthly, 18.25, 118.75), 2)
    total = np.round(monthly * tenure * rng.normal(1.0, 0.03, n), 2)
    total_text = np.where(tenure == 0, " ", np.char.mod("%.2f", total))

    mtm = contract == "Month-to-month"
    fiber = internet == "Fiber optic"
    logit = (
        0.9 * mtm - 0.9 * (contract == "Two year")
        - 0.75 * np.log1p(tenure) + 0.55 * fiber + 0.45 * (payment == "Electronic check")
        + 0.45 * fiber * mtm                                   # interaction
        + 0.012 * mtm * np.maximum(0, 12 - tenure)             # early months of a monthly contract
        + 0.3 * senior + 0.25 * paperless - 0.2 * partner - 0.25 * dependents
        + 0.35 * (extras["TechSupport"] == "No") + 0.3 * (extras["OnlineSecurity"] == "No")
        + 0.2 * (extras["StreamingMovies"] == "Yes") * fiber
        + 0.6 * np.exp(-(((monthly - 85) / 12.0) ** 2))        # price bump around 85
        + rng.normal(0, 0.6, n)                                # unobserved customer effect
    )
    lo, hi = -10.0, 10.0
    for _ in range(60):  # intercept so that the churn rate is TARGET_RATE
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(logit + mid)))).mean() < TARGET_RATE:
            lo = mid
        else:
            hi = mid
    churn = rng.random(n) < 1 / (1 + np.exp(-(logit + lo)))
    yn = np.array(["No", "Yes"], dtype=object)
    return pd.DataFrame({
        "customerID": _ids(rng, n), "gender": gender, "SeniorCitizen": senior, "Partner": yn[partner.astype(int)],
        "Dependents": yn[dependents.astype(int)], "tenure": tenure, "PhoneService": yn[phone.astype(int)],
        "MultipleLines": multiple, "InternetService": internet, **extras, "Contract": contract,
        "PaperlessBilling": yn[paperless.astype(int)], "PaymentMethod": payment, "MonthlyCharges": monthly,
        "TotalCharges": total_text, "Churn": yn[churn.astype(int)],
    })


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=7000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("churn.csv"))
    args = ap.parse_args()
    df = make_churn(args.rows, args.seed)
    df.to_csv(args.out, index=False)
    print(f"wrote {args.out}: {len(df)} rows, churn rate {(df['Churn'] == 'Yes').mean():.3f}")


if __name__ == "__main__":
    main()
