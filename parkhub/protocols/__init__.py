"""Wire formats shared by the adapters and the sandbox simulators: HJ 212, OneNET and CTWing
signing, and the modelled platforms' paths, headers, signatures and business codes.

Stdlib, crypto and parkhub.canonical only, so a simulator speaks exactly what an adapter speaks.
"""
