import { z } from 'zod';
import type { PublicUser } from '@mp/core';
import { viewOf } from './envelope.js';

/** Bodies and answers of /api/auth/*. */

export const loginBody = z
  .object({ username: z.string().trim().min(1).max(100), password: z.string().min(1).max(1024) })
  .strict()
  .meta({ examples: [{ username: 'admin', password: 'correct horse battery staple' }] });

export const changePasswordBody = z
  .object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().min(1).max(1024) })
  .strict()
  .meta({ examples: [{ currentPassword: 'Generated-Once-1234', newPassword: 'a long passphrase of my own' }] });

export const claimBody = z
  .object({ jobId: z.uuid(), claimToken: z.string().min(20).max(200) })
  .strict()
  .meta({
    examples: [
      { jobId: '7d9f0c1e-4b8a-4c52-9a41-2f1e6b3c8d90', claimToken: 'q3JxN0c2k9V1bWx0ZTh5aG9uM2ZrZ2x0c2R4cDJ3YQ' },
    ],
  });

const publicUserSchema = viewOf<PublicUser>()({
  id: z.uuid(),
  username: z.string(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  role: z.enum(['ADMIN', 'SUPERVISOR', 'CREDIT_OFFICER']),
  mustChangePassword: z
    .boolean()
    .meta({ description: 'A generated password: change it (POST /api/auth/change-password) before anything else' }),
  lastLoginAt: z.date().nullable(),
});

export const loginAnswer = z.object({
  token: z.string().meta({ description: 'JWT bearer token bound to the new session' }),
  expiresAt: z.date(),
  user: publicUserSchema,
});

export const LOGIN_EXAMPLE = {
  token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI…',
  expiresAt: '2026-11-24T20:00:00.000Z',
  user: {
    id: '0b6f2a1c-3d4e-4f5a-8b9c-0d1e2f3a4b5c',
    username: 'admin',
    email: 'admin@millenniumpotters.example',
    firstName: 'Ada',
    lastName: 'Okafor',
    role: 'ADMIN',
    mustChangePassword: false,
    lastLoginAt: '2026-11-24T12:00:00.000Z',
  },
};

export const claimAnswer = z.object({
  username: z.string(),
  password: z.string(),
  mustChangePassword: z.literal(true),
});
