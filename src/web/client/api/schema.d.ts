// Generated from GET /docs/json by `npm run web:types` (scripts/web-api-types.ts). Do not edit.
// test/web/api-types.test.ts fails when this no longer matches the service.

export interface paths {
    "/api/admin/movies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Add a movie to the catalogue
         * @description A movie is what MOVIE shows may name by movieId; its title, description and duration are shown with them.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        description?: string;
                        durationMinutes?: number;
                        title: string;
                    };
                };
            };
            responses: {
                /** @description The movie, created. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Movie"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/shows": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * All shows, past and cancelled included, by start time
         * @description Unlike the public list, every show: past ones and CANCELLED ones too, soonest start first; filter by status and type.
         */
        get: {
            parameters: {
                query: {
                    limit: number;
                    offset: number;
                    status?: "SCHEDULED" | "CANCELLED";
                    type?: "MOVIE" | "BUS" | "DOCTOR" | "EVENT";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of shows with their seat counts, and the total that match. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ShowList"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Create a show and generate its seats
         * @description A show is anything with a fixed set of seats at a time: a screening, a bus trip, a doctor's slots, an event. `seating` is either `{ totalSeats, seatsPerRow? }` (seats generated row by row: A1 A2 … then B1 …; rows past Z continue AA, AB, …) or `{ labels: [...] }` (one seat per label, in that order). Every seat starts AVAILABLE. `startTime` must be in the future; `holdSeconds` overrides HOLD_SECONDS for this show's holds; `priceCents` is the price of each seat.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        categories?: {
                            /** @description the seats this category covers, by label */
                            labels?: string[];
                            /** @description 1–32 characters, A–Z 0–9 _ */
                            name: string;
                            priceCents: number;
                            /** @description generated seating: the rows this category covers */
                            rows?: string[];
                        }[];
                        description?: string;
                        durationMinutes?: number;
                        /** @description overrides HOLD_SECONDS for this show */
                        holdSeconds?: number;
                        /**
                         * @description 24 hex digits (a MongoDB ObjectId)
                         * @example 6761a7f2c9d1e8a4b2f0c311
                         */
                        movieId?: string;
                        name: string;
                        /** @default 0 */
                        priceCents?: number;
                        seating: {
                            /** @description rows in the order best available tries them; rows not listed follow in seat order */
                            rowPreference?: string[];
                            /** @description default 10 */
                            seatsPerRow?: number;
                            totalSeats: number;
                        } | {
                            labels: string[];
                        };
                        /**
                         * Format: date-time
                         * @description must be in the future
                         */
                        startTime: string;
                        type: "MOVIE" | "BUS" | "DOCTOR" | "EVENT";
                        venue?: string;
                    };
                };
            };
            responses: {
                /** @description The show, SCHEDULED, with all its seats AVAILABLE. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Show"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. Also when startTime is not in the future (`details.field`: body/startTime). */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description MOVIE_NOT_FOUND: movieId names no movie; nothing was created. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/shows/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One show
         * @description Any show, past or cancelled, with its live seat counts.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The show with its seat counts. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Show"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description SHOW_NOT_FOUND: no show has this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change a show's name, start time, venue or description
         * @description Only the fields sent change (at least one). Seats, price and hold time are fixed once the show exists. Bookings show the new name, venue and start time at once (their `show` summary is read with them).
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        description?: string;
                        name?: string;
                        /** Format: date-time */
                        startTime?: string;
                        venue?: string;
                    };
                };
            };
            responses: {
                /** @description The show as changed. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Show"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. Also when startTime is not in the future, or the body has no field. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description SHOW_NOT_FOUND: no show has this id; nothing changed. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/api/admin/shows/{id}/bookings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A show's bookings, newest first
         * @description Every booking of the show, whoever made it, in any status (filter by status), each with its seats and show summary.
         */
        get: {
            parameters: {
                query: {
                    limit: number;
                    offset: number;
                    status?: "PENDING" | "CONFIRMED" | "FAILED" | "CANCELLED";
                };
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of the show's bookings, and the total that match. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BookingList"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description SHOW_NOT_FOUND: no show has this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/shows/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel a show; its PENDING and CONFIRMED bookings become CANCELLED and its seats free
         * @description The show stops taking holds at once; then each of its PENDING and CONFIRMED bookings is cancelled and its seats go back to AVAILABLE. A hold that lands meanwhile can never be confirmed (its confirm answers 409 SHOW_NOT_BOOKABLE and cancels it). Cancelling a cancelled show answers the same 200.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The show, CANCELLED; its live bookings are cancelled and its seats AVAILABLE. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Show"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description SHOW_NOT_FOUND: no show has this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Accounts, by email
         * @description email matches part of the address, case-insensitively; role and disabled filter exactly.
         */
        get: {
            parameters: {
                query: {
                    disabled?: boolean;
                    /** @description part of the email, case-insensitive */
                    email?: string;
                    limit: number;
                    offset: number;
                    role?: "USER" | "ADMIN";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of accounts, and the total that match. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdminUserList"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change an account's role, or disable/enable it
         * @description Takes effect on every instance within 5 s (tokens are checked against the database). Disabling ends the account's sign-ins (its refresh tokens stop working). 409 LAST_ADMIN: the last enabled admin cannot be demoted or disabled.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description true ends the account's sign-ins and refuses its tokens within 5 s */
                        disabled?: boolean;
                        role?: "USER" | "ADMIN";
                    };
                };
            };
            responses: {
                /** @description The account as changed. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdminUser"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. Also when the body has no field. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description USER_NOT_FOUND: no account has this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description LAST_ADMIN: this is the last enabled admin; it cannot be demoted or disabled (nothing changed). */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/api/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign in with email and password
         * @description A session: `token` (the access token, a JWT sent as `Authorization: Bearer`, valid until `expiresAt`, ACCESS_TOKEN_SECONDS) and `refreshToken` (opaque, single use, valid until `refreshExpiresAt`, REFRESH_TOKEN_DAYS): POST it to /api/auth/refresh for a new session before the access token expires. 401 INVALID_CREDENTIALS (one answer for an unknown email and a wrong password); 403 ACCOUNT_DISABLED.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        email: string;
                        password: string;
                    };
                };
            };
            responses: {
                /** @description Signed in: a new session. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Session"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. INVALID_CREDENTIALS: the email or the password is wrong (one answer for both, so emails do not leak). */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). ACCOUNT_DISABLED: the account is disabled by an admin. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description RATE_LIMITED: too many requests from this client; retry after the `Retry-After` seconds. Here per client address: AUTH_RATE_LIMIT login and register attempts a minute. */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign out: the sign-in this refresh token belongs to ends
         * @description Every refresh token of that sign-in stops working. Answers 204 whether or not the token was known. Access tokens already issued stay valid until their expiresAt (at most ACCESS_TOKEN_SECONDS).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description the opaque refresh token of a session */
                        refreshToken: string;
                    };
                };
            };
            responses: {
                /** @description Signed out: that sign-in's refresh tokens stop working (also answered for an unknown token). */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description RATE_LIMITED: too many requests from this client; retry after the `Retry-After` seconds. */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The signed-in account
         * @description Who the access token belongs to, as the database says now (role changes count within 5 s).
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The account the token belongs to. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["User"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Exchange a refresh token for a new session
         * @description A session: `token` (the access token, a JWT sent as `Authorization: Bearer`, valid until `expiresAt`, ACCESS_TOKEN_SECONDS) and `refreshToken` (opaque, single use, valid until `refreshExpiresAt`, REFRESH_TOKEN_DAYS): POST it to /api/auth/refresh for a new session before the access token expires. The refresh token sent stops working. Sending a refresh token that was already used ends that whole sign-in (the newer refresh tokens too): 401 INVALID_REFRESH_TOKEN, as for an unknown, expired or logged-out one. 403 ACCOUNT_DISABLED.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description the opaque refresh token of a session */
                        refreshToken: string;
                    };
                };
            };
            responses: {
                /** @description A new session: new access and refresh tokens; the refresh token sent stops working. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Session"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. INVALID_REFRESH_TOKEN: the refresh token is unknown, expired, logged out or already used (reuse also ends every newer token of that sign-in). */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s). ACCOUNT_DISABLED: the account was disabled; its sign-ins have ended. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description RATE_LIMITED: too many requests from this client; retry after the `Retry-After` seconds. */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an account (role USER) and sign in
         * @description A session: `token` (the access token, a JWT sent as `Authorization: Bearer`, valid until `expiresAt`, ACCESS_TOKEN_SECONDS) and `refreshToken` (opaque, single use, valid until `refreshExpiresAt`, REFRESH_TOKEN_DAYS): POST it to /api/auth/refresh for a new session before the access token expires. 400 WEAK_PASSWORD: the password is the email or a commonly used one. The name is trimmed; blank, or holding control or bidi-override characters, is 400 VALIDATION_ERROR. 409 EMAIL_TAKEN (emails are case-insensitive).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /**
                         * Format: email
                         * @example ada@example.com
                         */
                        email: string;
                        /** @description Trimmed; may not be blank or hold control or bidi-override characters (400 VALIDATION_ERROR). */
                        name: string;
                        /** @description Not the email, and not among commonly used passwords (400 WEAK_PASSWORD). */
                        password: string;
                    };
                };
            };
            responses: {
                /** @description The account, created with role USER, and its first session. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Session"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. Also WEAK_PASSWORD: the password is the email or a commonly used one; and a blank name, or one holding control or bidi-override characters. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description EMAIL_TAKEN: an account has this email already (emails are case-insensitive). */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description RATE_LIMITED: too many requests from this client; retry after the `Retry-After` seconds. Here per client address: AUTH_RATE_LIMIT login and register attempts a minute. */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/bookings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Your bookings, newest first
         * @description The signed-in user's own bookings in any status (filter by status), each with its seats and a summary of its show.
         */
        get: {
            parameters: {
                query: {
                    limit: number;
                    offset: number;
                    status?: "PENDING" | "CONFIRMED" | "FAILED" | "CANCELLED";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of your bookings, and the total that match. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BookingList"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/bookings/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One of your bookings
         * @description A booking of the signed-in user. Another user's booking answers 404, exactly as a missing one.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The booking as it is now. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Booking"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description BOOKING_NOT_FOUND: you have no booking with this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/bookings/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel a PENDING or CONFIRMED booking; its seats free at once
         * @description A PENDING or CONFIRMED booking of the signed-in user becomes CANCELLED and its seats AVAILABLE, until the show starts.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description CANCELLED: its seats are AVAILABLE again. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Booking"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description BOOKING_NOT_FOUND: you have no booking with this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description INVALID_STATE: the booking is already FAILED or CANCELLED, or its show has started; nothing changed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/bookings/{id}/confirm": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Confirm a held booking (payment is simulated)
         * @description A PENDING booking whose hold has not expired becomes CONFIRMED and its seats BOOKED. Confirming an already CONFIRMED booking answers the same 200. A PENDING booking whose show has started or was cancelled is cancelled instead, its seats freed (409 SHOW_NOT_BOOKABLE). The body is optional: `{ paymentReference }` is kept with the booking.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": {
                        /** @description the payment provider's reference, kept with the booking */
                        paymentReference?: string;
                    } | null;
                };
            };
            responses: {
                /** @description CONFIRMED: the seats are BOOKED for this booking. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Booking"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description BOOKING_NOT_FOUND: you have no booking with this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description HOLD_EXPIRED: the hold lapsed first; the booking is FAILED and its seats free. INVALID_STATE: the booking is cancelled. SHOW_NOT_BOOKABLE: the show has started or was cancelled; the booking is now CANCELLED and its seats AVAILABLE. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/bookings/{id}/extend": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Extend a held booking by the show's hold time
         * @description expiresAt becomes now + the show's holdSeconds and extensions grows by one. 409 HOLD_EXPIRED if the hold already lapsed (the booking is FAILED); 409 INVALID_STATE if the booking is not PENDING (or its show was cancelled or has started); 409 EXTENSION_LIMIT after MAX_HOLD_EXTENSIONS extensions.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The booking, still PENDING, with its new expiresAt and extensions. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Booking"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description BOOKING_NOT_FOUND: you have no booking with this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description HOLD_EXPIRED: the hold already lapsed (the booking is FAILED); INVALID_STATE: the booking is not PENDING, or its show was cancelled or has started; EXTENSION_LIMIT: already extended MAX_HOLD_EXTENSIONS times. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/movies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Movies, newest first
         * @description The movie catalogue; no token needed.
         */
        get: {
            parameters: {
                query: {
                    limit: number;
                    offset: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of movies, and the total. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MovieList"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/movies/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One movie
         * @description A movie of the catalogue; its shows are listed by GET /api/shows?movieId=.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The movie. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Movie"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description MOVIE_NOT_FOUND: no movie has this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/shows": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Scheduled shows that have not started, soonest first
         * @description What can be booked: SCHEDULED shows starting after now (or after `from`, if later) and up to `to`, filtered by type and movieId, each with its live seat counts.
         */
        get: {
            parameters: {
                query: {
                    from?: string;
                    limit: number;
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    movieId?: string;
                    offset: number;
                    to?: string;
                    type?: "MOVIE" | "BUS" | "DOCTOR" | "EVENT";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of bookable shows, and the total that match. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ShowList"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/shows/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One show with its seat counts
         * @description Any show, also a past or cancelled one (its status and startTime say whether it takes holds).
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The show with its seat counts. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Show"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description SHOW_NOT_FOUND: no show has this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/shows/{id}/bookings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Hold seats: all of them or none; named, or best available
         * @description Exactly one of seatIds, seatLabels or { quantity, category?, adjacent? } (best available: the service chooses, adjacent seats of one row by default, rows in the show's rowPreference then seat order, middle of the row first, no single seat stranded when avoidable; 400 UNKNOWN_CATEGORY; 409 SEATS_UNAVAILABLE with details.available when not enough suitable seats are free). Seats are held for the show's holdSeconds; confirm before expiresAt or the booking fails and the seats free. With an Idempotency-Key, repeats of the same request get the first answer again (success or refusal, kept 24 h); the same key with another body is 422 IDEMPOTENCY_KEY_REUSED; a repeat arriving while the first is still running waits for its answer, up to 10 s, then 409 IDEMPOTENCY_KEY_IN_USE.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description repeat a hold safely: the same key answers the first answer again */
                    "idempotency-key"?: string;
                };
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            /** @description exactly one of seatIds, seatLabels (1–10 distinct entries, MAX_SEATS_PER_BOOKING) or quantity (best available, 1–10) */
            requestBody: {
                content: {
                    "application/json": {
                        seatIds: string[];
                    } | {
                        seatLabels: string[];
                    } | {
                        /** @description consecutive seats of one row (default true) */
                        adjacent?: boolean;
                        /** @description 1–32 characters, A–Z 0–9 _ */
                        category?: string;
                        quantity: number;
                    };
                };
            };
            responses: {
                /** @description Held: a PENDING booking holding every seat asked for until its expiresAt. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Booking"];
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. Also UNKNOWN_SEATS: some ids or labels are no seat of this show (`details.seats` lists them); nothing was held. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description SHOW_NOT_FOUND: no show has this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description SEATS_UNAVAILABLE: a seat asked for is held or booked by someone; nothing was held. `details.seats`: the labels of the seats asked for known taken when the hold was refused (the seat whose claim failed, and those this instance's seat map, at most 1 s old, shows taken; a seat freed elsewhere within that second may still be refused). SHOW_NOT_BOOKABLE: the show is cancelled or has started. IDEMPOTENCY_KEY_IN_USE: a request with this key is still running. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was used with another request (another show or other seats). */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description RATE_LIMITED: too many requests from this client; retry after the `Retry-After` seconds. Holds have their own, stricter limit: RATE_LIMIT / 5 a minute per user. */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not available now; retry after the `Retry-After` seconds. Also, for best available, OVERLOADED (Retry-After 1): fresh reads of the seat map kept showing suitable seats free, and other holds kept taking the chosen ones first (a 409 is answered only when a fresh read finds nothing suitable); nothing was held, an Idempotency-Key is released (its repeat runs afresh), and a retry can succeed. Unlike load shedding, this comes after the request's tries (within a few seconds). */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/shows/{id}/seats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The live seat map, in seat order
         * @description Served from a short per-instance cache: the map reflects changes made through the instance that answers at once, and changes made through other instances within 500 ms (never more than 1 s). Every answer carries a strong ETag; a request whose If-None-Match matches it is answered 304 without a body.
         */
        get: {
            parameters: {
                query?: never;
                header?: {
                    /** @description an ETag of an earlier answer */
                    "if-none-match"?: string;
                };
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Every seat of the show with its status, in seat order, and the counts; with its ETag. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["SeatMap"];
                    };
                };
                /** @description Not modified: the map is the one the If-None-Match ETag names */
                304: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description SHOW_NOT_FOUND: no show has this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/shows/{id}/seats/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The live seat map: a Server-Sent Events stream
         * @description Opens with `retry: 2000` and a `snapshot` (the map as GET /seats plus the show's status); then every seat change committed through any instance arrives as a `seats` event (batched, statuses absolute, `counts` after the batch) within a second, and a cancellation as `show`. A comment line arrives at least every 15 s. Reconnecting with `Last-Event-ID` (EventSource does it by itself) resumes after that event when this instance still has the changes since, on any instance (with change streams; polling deployments resume on the same instance); otherwise the stream starts with a new `snapshot`, which replaces the client's map. A client that reads too slowly is disconnected (it reconnects and resumes); on shutdown an instance ends its streams. Refused before the stream starts: 503 OVERLOADED when the instance holds MAX_STREAMS streams, 429 RATE_LIMITED beyond MAX_STREAMS_PER_CLIENT per client address.
         */
        get: {
            parameters: {
                query?: never;
                header?: {
                    /** @description the id of the last event received, to resume after it */
                    "last-event-id"?: string;
                };
                path: {
                    /**
                     * @description 24 hex digits (a MongoDB ObjectId)
                     * @example 6761a7f2c9d1e8a4b2f0c311
                     */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description the event stream */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/event-stream": {
                            data: components["schemas"]["SeatSnapshotEvent"];
                            /** @enum {string} */
                            event: "snapshot";
                            /** @description opaque; send it back as Last-Event-ID to resume */
                            id: string;
                        } | {
                            data: components["schemas"]["SeatChangesEvent"];
                            /** @enum {string} */
                            event: "seats";
                            /** @description opaque; send it back as Last-Event-ID to resume */
                            id: string;
                        } | {
                            data: components["schemas"]["ShowStatusEvent"];
                            /** @enum {string} */
                            event: "show";
                        };
                    };
                };
                /** @description VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description SHOW_NOT_FOUND: no show has this id. */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description RATE_LIMITED: too many requests from this client; retry after the `Retry-After` seconds. Also beyond MAX_STREAMS_PER_CLIENT open streams per client address. */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not available now; retry after the `Retry-After` seconds. OVERLOADED: this instance already holds MAX_STREAMS streams (another instance may answer). */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The process runs
         * @description Liveness: answers while the process runs, whatever the database does. Never rate limited.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The process runs. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            status: "ok";
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics
         * @description This instance's counters and histograms in the Prometheus text format: holds, conflicts, confirmations, expirations, cancellations, recoveries, hold latency, and the Node.js process. Never rate limited.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The metrics, Prometheus text format 0.0.4. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "text/plain": string;
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The database answers and the job scheduler runs
         * @description Readiness, for a load balancer: 200 while this instance can serve bookings, else 503 (within about a second). Never rate limited.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Ready: the database answers and the job scheduler runs. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            database: "up";
                            /** @enum {string} */
                            scheduler: "running";
                            /** @enum {string} */
                            status: "ready";
                        };
                    };
                };
                /** @description Not available now; retry after the `Retry-After` seconds. DATABASE_UNAVAILABLE: the database does not answer; SCHEDULER_STOPPED: the job scheduler is not running. `details` says which of { database, scheduler } is down. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** AdminUser */
        AdminUser: {
            /**
             * Format: date-time
             * @description ISO-8601, UTC
             */
            createdAt: string;
            disabled: boolean;
            /**
             * Format: email
             * @example ada@example.com
             */
            email: string;
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            id: string;
            name: string;
            role: "USER" | "ADMIN";
        };
        /** AdminUserList */
        AdminUserList: {
            items: components["schemas"]["AdminUser"][];
            limit: number;
            offset: number;
            total: number;
        };
        /** Booking */
        Booking: {
            /**
             * Format: date-time
             * @description ISO-8601, UTC
             */
            cancelledAt: string | null;
            /**
             * Format: date-time
             * @description ISO-8601, UTC
             */
            confirmedAt: string | null;
            /**
             * Format: date-time
             * @description ISO-8601, UTC
             */
            createdAt: string;
            /**
             * Format: date-time
             * @description ISO-8601, UTC
             */
            expiresAt: string;
            /** @description how many times the hold was extended */
            extensions: number;
            /**
             * @description why a FAILED booking failed: `EXPIRED` (its hold lapsed before confirm), or `ABANDONED` (a hold attempt that stopped answering, taken over by a repeat of its request with the same Idempotency-Key: this booking lists no seats, and any the attempt had claimed were given back). Null unless FAILED.
             * @example EXPIRED
             */
            failureReason: string | null;
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            id: string;
            seats: {
                category: string;
                /**
                 * @description 24 hex digits (a MongoDB ObjectId)
                 * @example 6761a7f2c9d1e8a4b2f0c311
                 */
                id: string;
                label: string;
                priceCents: number;
            }[];
            /** @description the booked show, as it is now: a client lists bookings without a request per show */
            show: {
                name: string;
                /**
                 * Format: date-time
                 * @description ISO-8601, UTC
                 */
                startTime: string;
                type: "MOVIE" | "BUS" | "DOCTOR" | "EVENT";
                venue: string | null;
            };
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            showId: string;
            status: "PENDING" | "CONFIRMED" | "FAILED" | "CANCELLED";
            /** @description the sum of the seats' prices */
            totalPriceCents: number;
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            userId: string;
        };
        /** BookingList */
        BookingList: {
            items: components["schemas"]["Booking"][];
            limit: number;
            offset: number;
            total: number;
        };
        /** Error */
        Error: {
            /**
             * @description stable, machine-readable
             * @example SEATS_UNAVAILABLE
             */
            code: string;
            details?: {
                [key: string]: unknown;
            };
            /** @example Conflict */
            error: string;
            message: string;
            /** @example 409 */
            statusCode: number;
        };
        /** Movie */
        Movie: {
            /**
             * Format: date-time
             * @description ISO-8601, UTC
             */
            createdAt: string;
            description: string | null;
            durationMinutes: number | null;
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            id: string;
            title: string;
        };
        /** MovieList */
        MovieList: {
            items: components["schemas"]["Movie"][];
            limit: number;
            offset: number;
            total: number;
        };
        /** Seat */
        Seat: {
            category: string;
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            id: string;
            label: string;
            number: number;
            priceCents: number;
            row: string | null;
            status: "AVAILABLE" | "HELD" | "BOOKED";
        };
        /**
         * SeatChangesEvent
         * @description `event: seats` — seats whose status changed (absolute: applying one twice is harmless); `counts` are the show's counts after the batch
         */
        SeatChangesEvent: {
            changes: {
                /**
                 * @description 24 hex digits (a MongoDB ObjectId)
                 * @example 6761a7f2c9d1e8a4b2f0c311
                 */
                id: string;
                label: string;
                status: "AVAILABLE" | "HELD" | "BOOKED";
            }[];
            counts: {
                AVAILABLE: number;
                BOOKED: number;
                HELD: number;
            };
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            showId: string;
        };
        /** SeatMap */
        SeatMap: {
            counts: {
                AVAILABLE: number;
                BOOKED: number;
                HELD: number;
            };
            seats: components["schemas"]["Seat"][];
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            showId: string;
        };
        /**
         * SeatSnapshotEvent
         * @description `event: snapshot` — the whole map, as GET /seats, and the show's status; replaces whatever map the client had
         */
        SeatSnapshotEvent: {
            counts: {
                AVAILABLE: number;
                BOOKED: number;
                HELD: number;
            };
            seats: components["schemas"]["Seat"][];
            show: {
                status: "SCHEDULED" | "CANCELLED";
            };
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            showId: string;
        };
        /** Session */
        Session: {
            /**
             * Format: date-time
             * @description when `token` stops working (ACCESS_TOKEN_SECONDS after issue)
             */
            expiresAt: string;
            /**
             * Format: date-time
             * @description when `refreshToken` stops working (REFRESH_TOKEN_DAYS after issue)
             */
            refreshExpiresAt: string;
            /** @description opaque, single use: POST it to /api/auth/refresh for a new session before refreshExpiresAt */
            refreshToken: string;
            /** @description access token (JWT, HS256): send as `Authorization: Bearer <token>` */
            token: string;
            user: components["schemas"]["User"];
        };
        /** Show */
        Show: {
            availableSeats: number;
            bookedSeats: number;
            /** @description the categories the seats are sold in, with their prices; seats no category names are STANDARD at the show's priceCents */
            categories: {
                availableSeats: number;
                name: string;
                priceCents: number;
                totalSeats: number;
            }[];
            /**
             * Format: date-time
             * @description ISO-8601, UTC
             */
            createdAt: string;
            description: string | null;
            durationMinutes: number | null;
            heldSeats: number;
            holdSeconds: number;
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            id: string;
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            movieId: string | null;
            name: string;
            priceCents: number;
            /**
             * Format: date-time
             * @description ISO-8601, UTC
             */
            startTime: string;
            status: "SCHEDULED" | "CANCELLED";
            totalSeats: number;
            type: "MOVIE" | "BUS" | "DOCTOR" | "EVENT";
            venue: string | null;
        };
        /** ShowList */
        ShowList: {
            items: components["schemas"]["Show"][];
            limit: number;
            offset: number;
            total: number;
        };
        /**
         * ShowStatusEvent
         * @description `event: show` — the show was cancelled while watched
         */
        ShowStatusEvent: {
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            showId: string;
            status: "SCHEDULED" | "CANCELLED";
        };
        /** User */
        User: {
            /**
             * Format: email
             * @example ada@example.com
             */
            email: string;
            /**
             * @description 24 hex digits (a MongoDB ObjectId)
             * @example 6761a7f2c9d1e8a4b2f0c311
             */
            id: string;
            name: string;
            role: "USER" | "ADMIN";
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
