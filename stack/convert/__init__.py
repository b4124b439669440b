"""Pure translations of the stack model for other orchestrators (no daemon, no docker SDK).

swarm   the stack as Docker Swarm objects: service specs, overlay networks, secrets and
        configs named by content digest, and the keys Swarm cannot honour (file:line)
"""
